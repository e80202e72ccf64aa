// Package storage holds the PVE storage types: storages of the cluster's
// storage.cfg, such as a Proxmox Backup Server datastore (pve_storage_pbs),
// and what is on them: files PVE downloads (pve_download_file) and the
// content of a node's storage (pve_storage_content).
package storage

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources returns the resources of the storage service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewPBSResource, NewDownloadFileResource}
}

// DataSources returns the data sources of the storage service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewContentDataSource}
}
