package vm

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/framework"
	"github.com/hcilab/terraform-provider-pve/internal/framework/guest"
)

// A slot family and how many slots PVE has of it.
type slotFamily struct {
	prefix string
	count  int
}

var (
	diskFamilies = []slotFamily{{"scsi", 31}, {"virtio", 16}, {"sata", 6}, {"ide", 4}}
	netFamilies  = []slotFamily{{"net", 32}}
	slotRE       = regexp.MustCompile(`^([a-z]+)(\d+)$`)
)

// checkSlot reports whether name is a slot of one of the families.
func checkSlot(name string, families []slotFamily) error {
	if m := slotRE.FindStringSubmatch(name); m != nil {
		n, _ := strconv.Atoi(m[2])
		for _, f := range families {
			if f.prefix == m[1] && n < f.count && strconv.Itoa(n) == m[2] {
				return nil
			}
		}
	}
	return fmt.Errorf("invalid slot %q: PVE's slots are %s", name, describeFamilies(families))
}

func describeFamilies(families []slotFamily) string {
	out := ""
	for i, f := range families {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s0..%s%d", f.prefix, f.prefix, f.count-1)
	}
	return out
}

// slotKeys validates the keys of a map attribute as slots.
type slotKeys struct{ families []slotFamily }

func (v slotKeys) Description(context.Context) string {
	return "keys must be slots: " + describeFamilies(v.families)
}
func (v slotKeys) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v slotKeys) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k := range req.ConfigValue.Elements() {
		if err := checkSlot(k, v.families); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid Slot", err.Error())
		}
	}
}

// managed reports whether a device map is set: unset maps leave the
// devices as they are.
func managed(m types.Map) bool { return !m.IsNull() && !m.IsUnknown() }

// elements returns the devices of a map, none while it is unset or unknown.
func elements[T any](ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]T {
	out := map[string]T{}
	if managed(m) {
		diags.Append(m.ElementsAs(ctx, &out, false)...)
	}
	return out
}

// deviceParams sets the devices of plan that are new or changed since
// prior, and with managed deletes those that are gone.
func deviceParams[T interface{ value() string }](plan, prior map[string]T, managed bool, p url.Values) {
	guest.SlotParams(values(plan), values(prior), managed, p)
}

// values renders devices as their PVE values by slot.
func values[T interface{ value() string }](devices map[string]T) map[string]string {
	out := make(map[string]string, len(devices))
	for slot, d := range devices {
		out[slot] = d.value()
	}
	return out
}

func mapOf[T any](elem types.ObjectType, items map[string]T) types.Map {
	m, diags := framework.MapFrom(context.Background(), elem, items)
	if diags.HasError() {
		panic(fmt.Sprintf("building a %v map: %v", elem, diags))
	}
	return m
}
