// Package ceph holds the Ceph types: pools, CRUSH rules, erasure-code
// profiles, their data sources and the pg_num function.
package ceph

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources returns the resources of the ceph service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewPoolResource, NewCrushRuleResource, NewErasureCodeProfileResource}
}

// DataSources returns the data sources of the ceph service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewStatusDataSource, NewPoolsDataSource}
}

// Functions returns the provider functions of the ceph service.
func Functions() []func() function.Function {
	return []func() function.Function{NewPGNumFunction}
}
