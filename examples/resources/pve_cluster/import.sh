# By cluster name, through a provider whose endpoint is a member.
terraform import pve_cluster.dc dc1
