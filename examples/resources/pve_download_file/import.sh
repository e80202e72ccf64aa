# <node>/<volume ID>
terraform import pve_download_file.debian_iso pve1/local:iso/debian-13.1.0-amd64-netinst.iso
