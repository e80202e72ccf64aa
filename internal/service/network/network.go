// Package network holds the Terraform types of a node's network: Linux
// bridges, bonds and VLANs, and the node's interfaces as a data source.
//
// Edits are staged by PVE in /etc/network/interfaces.new and go live when
// the node's network is reloaded. The types stage their edit and leave the
// reload to the client's per-node coordinator (pve.Client.EditNetwork), so
// that all edits of a node in one apply go live in one reload at the end of
// the apply, and none of them if one fails (see internal/pve/netreload.go).
package network

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// stagingDescription tells how the interface types' edits go live.
const stagingDescription = "Edits are staged, and all edits of a node in one apply go live in one network reload at the " +
	"end of the apply (earlier only when a guest of the same apply needs one of the interfaces). If an edit of a node " +
	"fails, the node's staged edits of that apply are reverted and none of them go live: the next apply stages them again."

// Resources returns the resources of the network service.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{
		NewBridgeResource,
		NewBondResource,
		NewVLANResource,
	}
}

// DataSources returns the data sources of the network service.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewInterfacesDataSource,
	}
}
