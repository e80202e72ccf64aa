# There is one set of options: its ID is always "cluster".
terraform import pve_cluster_options.this cluster
