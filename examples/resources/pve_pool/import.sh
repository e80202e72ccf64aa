# By pool ID; a nested pool with its full path.
terraform import pve_pool.web web
terraform import pve_pool.web_staging web/staging
