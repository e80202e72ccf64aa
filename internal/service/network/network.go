// Package network holds the Terraform types of a node's network: Linux
// bridges, bonds and VLANs, and the node's interfaces as a data source.
//
// Edits are staged by PVE in /etc/network/interfaces.new and go live when
// the node's network is reloaded. The types stage their edit and leave the
// reload to the client's per-node coordinator (pve.Client.EditNetwork), so
// that all edits of a node in one apply go live in one reload, after the
// last of them; reads settle the node first, so they report what is active.
package network

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

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
