// Package vm holds the QEMU virtual machine types.
package vm

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// Resources returns the resources of the vm service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewVMResource}
}

// DataSources returns the data sources of the vm service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewVMDataSource, NewVMsDataSource}
}

// NewVMsDataSource returns the pve_vms data source.
func NewVMsDataSource() datasource.DataSource { return guest.NewListDataSource(pve.QEMU) }
