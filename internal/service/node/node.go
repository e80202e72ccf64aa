// Package node holds the Terraform types that read PVE nodes: pve_version,
// pve_nodes and pve_node.
package node

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources returns the resources of the node service.
func Resources() []func() resource.Resource {
	return nil
}

// DataSources returns the data sources of the node service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewVersionDataSource,
		NewNodesDataSource,
		NewNodeDataSource,
	}
}
