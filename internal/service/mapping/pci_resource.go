package mapping

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// NewPCIResource returns the pve_mapping_pci resource.
func NewPCIResource() resource.Resource {
	return &mappingResource{spec: kindSpec{
		kind:  pve.PCIMapping,
		title: "PCI Mapping",
		slot:  "hostpci",
		description: "A cluster-wide name for equivalent PCI devices (GPUs, say) on several nodes (`/cluster/mapping/pci`): " +
			"a VM that uses it (`hostpci = { hostpci0 = { mapping = ... } }`) can run, move or fail over to any node that " +
			"has an entry. Build the entries from `pve_node_pci_devices`. Changes are checked against each node's hardware " +
			"and what does not match is a warning. A mapping that a VM uses is not deleted. Import by name.",
		entryAttrs: pciEntryAttributes(),
		keys:       pciEntryKeys,
		flags: []flagSpec{
			{"mediated_devices", "mdev", "The devices provide mediated devices (vGPU): VMs then pick a type with `mdev`."},
			{"live_migration", "live-migration-capable", "The devices can be live-migrated (experimental; needs hardware and driver support)."},
		},
		check: checkIOMMUGroups,
	}}
}

// checkIOMMUGroups warns about mapped devices that share their IOMMU group
// with devices the entry does not map: a VM gets the whole group, so the
// others go with it (or the VM does not start). PVE's own check does not
// look at this.
func checkIOMMUGroups(ctx context.Context, c *pve.Client, entries []types.Object, diags *diag.Diagnostics) {
	for _, e := range entries {
		node := entryNode(e)
		devices, err := c.NodePCIDevices(ctx, node)
		if err != nil {
			diags.AddWarning("Mapping Not Checked", fmt.Sprintf("the PCI devices of node %s could not be listed: %s", node, err))
			continue
		}
		paths := strings.Split(entryString(e, "path"), ";")
		mapped := func(id string) bool {
			return slices.ContainsFunc(paths, func(p string) bool { return id == p || strings.HasPrefix(id, p+".") })
		}
		groups := map[int]bool{}
		for _, d := range devices {
			if mapped(d.ID) && d.IOMMUGroup >= 0 {
				groups[d.IOMMUGroup] = true
			}
		}
		var others []string
		for _, d := range devices {
			if groups[d.IOMMUGroup] && !mapped(d.ID) {
				name := d.DeviceName
				if name == "" {
					name = d.VendorDevice()
				}
				others = append(others, fmt.Sprintf("%s (%s)", d.ID, name))
			}
		}
		if len(others) > 0 {
			diags.AddAttributeWarning(path.Root("map"), "IOMMU Group Shared",
				fmt.Sprintf("on node %s, the IOMMU group of %s also holds %s, which this entry does not map: a VM gets "+
					"the whole group. Map the whole device (path without the function, e.g. %s) or make sure the "+
					"others can go with it.", node, entryString(e, "path"), strings.Join(others, ", "), devicePath(paths[0])))
		}
	}
}

// devicePath is a function's device ("0000:01:00.0" -> "0000:01:00").
func devicePath(p string) string {
	if i := strings.LastIndex(p, "."); i > 0 {
		return p[:i]
	}
	return p
}
