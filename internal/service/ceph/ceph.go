// Package ceph holds the Ceph types: pools, CRUSH rules, erasure-code
// profiles, their data sources and the pg_num function.
package ceph

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
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

// librados reports whether the provider's ceph {} block is set: pools,
// the pool list and the status go through librados then, and through
// PVE's API otherwise.
func librados(d *framework.ProviderData) bool {
	return d != nil && d.Ceph != nil && d.Ceph.Check() == nil
}

// onlineNode is the first online node: any node of a PVE-managed Ceph
// cluster serves its Ceph API.
func onlineNode(ctx context.Context, c *pve.Client) (string, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range nodes {
		if n.Status == "online" {
			return n.Node, nil
		}
	}
	return "", errors.New("no node is online")
}
