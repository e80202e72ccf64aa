package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/hcilab/terraform-provider-pve/internal/service/bmc"
	"github.com/hcilab/terraform-provider-pve/internal/service/ceph"
	"github.com/hcilab/terraform-provider-pve/internal/service/cluster"
	"github.com/hcilab/terraform-provider-pve/internal/service/lxc"
	"github.com/hcilab/terraform-provider-pve/internal/service/mapping"
	"github.com/hcilab/terraform-provider-pve/internal/service/network"
	"github.com/hcilab/terraform-provider-pve/internal/service/node"
	"github.com/hcilab/terraform-provider-pve/internal/service/pbs"
	"github.com/hcilab/terraform-provider-pve/internal/service/pool"
	"github.com/hcilab/terraform-provider-pve/internal/service/storage"
	"github.com/hcilab/terraform-provider-pve/internal/service/vm"
)

// resources joins the resources of every service package.
func resources() []func() resource.Resource {
	return join(
		bmc.Resources(),
		ceph.Resources(),
		cluster.Resources(),
		lxc.Resources(),
		mapping.Resources(),
		network.Resources(),
		node.Resources(),
		pbs.Resources(),
		pool.Resources(),
		storage.Resources(),
		vm.Resources(),
	)
}

// dataSources joins the data sources of every service package.
func dataSources() []func() datasource.DataSource {
	return join(
		bmc.DataSources(),
		ceph.DataSources(),
		cluster.DataSources(),
		lxc.DataSources(),
		mapping.DataSources(),
		network.DataSources(),
		node.DataSources(),
		pbs.DataSources(),
		pool.DataSources(),
		storage.DataSources(),
		vm.DataSources(),
	)
}

// functions joins the provider functions of every service package.
func functions() []func() function.Function {
	return join(
		ceph.Functions(),
	)
}

func join[T any](lists ...[]T) []T {
	var all []T
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}
