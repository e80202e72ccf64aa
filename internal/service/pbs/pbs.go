// Package pbs holds the Proxmox Backup Server types: datastores, prune
// jobs and namespaces, managed through the provider's pbs {} block.
package pbs

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources returns the resources of the pbs service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewDatastoreResource, NewPruneJobResource, NewNamespaceResource}
}

// DataSources returns the data sources of the pbs service.
func DataSources() []func() datasource.DataSource {
	return nil
}
