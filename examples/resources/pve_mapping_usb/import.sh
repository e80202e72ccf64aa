terraform import pve_mapping_usb.dongle dongle
