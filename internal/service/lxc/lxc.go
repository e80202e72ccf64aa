// Package lxc holds the LXC container types.
package lxc

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// Resources returns the resources of the lxc service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewContainerResource}
}

// DataSources returns the data sources of the lxc service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewContainerDataSource, NewContainersDataSource}
}

// NewContainersDataSource returns the pve_containers data source.
func NewContainersDataSource() datasource.DataSource {
	return guest.NewListDataSource(pve.LXC)
}
