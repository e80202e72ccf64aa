// Package mapping holds the cluster resource mapping types: pve_mapping_pci,
// pve_mapping_usb and the pve_node_pci_devices data source they are built
// from.
package mapping

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources returns the resources of the mapping service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewPCIResource, NewUSBResource}
}

// DataSources returns the data sources of the mapping service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewNodePCIDevicesDataSource}
}
