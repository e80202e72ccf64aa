# <node>/<vmid>, or just <vmid>. PVE does not keep the template a container
# was made from: the first apply after an import only records ostemplate.
terraform import pve_container.dns 200
