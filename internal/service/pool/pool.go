// Package pool holds the resource pool type: pve_pool.
package pool

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources returns the resources of the pool service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewPoolResource}
}

// DataSources returns the data sources of the pool service.
func DataSources() []func() datasource.DataSource {
	return nil
}
