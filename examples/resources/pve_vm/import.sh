# <node>/<vmid>, or just <vmid>: the node is looked up in the cluster.
terraform import pve_vm.web pve1/100
terraform import pve_vm.web 100
