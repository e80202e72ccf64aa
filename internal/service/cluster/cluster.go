// Package cluster holds the cluster types: pve_cluster (create and join),
// pve_cluster_options, the HA types and the pve_cluster_status data source.
package cluster

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources returns the resources of the cluster service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewClusterResource, NewOptionsResource, NewHAResourceResource, NewHARuleResource, NewHAGroupResource}
}

// DataSources returns the data sources of the cluster service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewStatusDataSource}
}
