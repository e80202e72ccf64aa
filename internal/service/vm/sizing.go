package vm

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// The VM's processors and memory: two blocks whose settings, left unset,
// stay as they are (PVE's defaults on a new VM, the source's on a clone).

type cpuModel struct {
	Cores   types.Int64  `tfsdk:"cores"`
	Sockets types.Int64  `tfsdk:"sockets"`
	Type    types.String `tfsdk:"type"`
	NUMA    types.Bool   `tfsdk:"numa"`
}

type memoryModel struct {
	Size    types.Int64 `tfsdk:"size"`
	Balloon types.Int64 `tfsdk:"balloon"`
}

var (
	cpuTypes    = map[string]attr.Type{"cores": types.Int64Type, "sockets": types.Int64Type, "type": types.StringType, "numa": types.BoolType}
	memoryTypes = map[string]attr.Type{"size": types.Int64Type, "balloon": types.Int64Type}
)

const unsetKept = " Unset: left as it is (PVE's default on a new VM, the source's on a clone)."

func keptInt(desc string, v ...validator.Int64) schema.Int64Attribute {
	return schema.Int64Attribute{Description: desc + unsetKept, Optional: true, Computed: true, PlanModifiers: keepInt, Validators: v}
}

func cpuAttribute() schema.Attribute {
	return schema.SingleNestedAttribute{
		Description:   "Processors." + unsetKept,
		Optional:      true,
		Computed:      true,
		PlanModifiers: keepObject,
		Attributes: map[string]schema.Attribute{
			"cores":   keptInt("Cores per socket (PVE's default: 1).", int64validator.Between(1, 8192)),
			"sockets": keptInt("Sockets (PVE's default: 1).", int64validator.Between(1, 4)),
			"type": schema.StringAttribute{
				Description: "CPU type, e.g. `host` or `x86-64-v2-AES` (PVE's default: `kvm64`, or `x86-64-v2-AES` " +
					"in the web UI)." + unsetKept,
				Optional: true, Computed: true, PlanModifiers: keepString,
				Validators: []validator.String{cpuTypeValidator{}},
			},
			"numa": schema.BoolAttribute{Description: "Emulate NUMA (needed for memory and CPU hot-plug)." + unsetKept,
				Optional: true, Computed: true, PlanModifiers: keepBool},
		},
	}
}

func memoryAttribute() schema.Attribute {
	return schema.SingleNestedAttribute{
		Description:   "Memory." + unsetKept,
		Optional:      true,
		Computed:      true,
		PlanModifiers: keepObject,
		Attributes: map[string]schema.Attribute{
			"size":    keptInt("Memory in MiB (PVE's default: 512).", int64validator.AtLeast(16)),
			"balloon": keptInt("Minimum memory in MiB for the balloon driver; 0 disables ballooning.", int64validator.AtLeast(0)),
		},
	}
}

// sizingParams renders the cpu and memory blocks; set is configParams'
// setter (unknown: left as it is; null: deleted when it was set).
func sizingParams(ctx context.Context, m, o *vmModel, set func(key string, v, old attr.Value, text func() string), diags *diag.Diagnostics) {
	num := func(key string, v, old types.Int64) {
		set(key, v, old, func() string { return strconv.FormatInt(v.ValueInt64(), 10) })
	}
	if cpu := objectAs[cpuModel](ctx, m.CPU, diags); cpu != nil {
		var old cpuModel
		if p := objectAs[cpuModel](ctx, o.CPU, diags); p != nil {
			old = *p
		}
		num("cores", cpu.Cores, old.Cores)
		num("sockets", cpu.Sockets, old.Sockets)
		set("cpu", cpu.Type, old.Type, cpu.Type.ValueString)
		set("numa", cpu.NUMA, old.NUMA, func() string { return boolText(cpu.NUMA.ValueBool()) })
	}
	if mem := objectAs[memoryModel](ctx, m.Memory, diags); mem != nil {
		var old memoryModel
		if p := objectAs[memoryModel](ctx, o.Memory, diags); p != nil {
			old = *p
		}
		num("memory", mem.Size, old.Size)
		num("balloon", mem.Balloon, old.Balloon)
	}
}

// sizingFromAPI reads the cpu and memory blocks from a VM's configuration.
func sizingFromAPI(cfg *pve.GuestConfig) (cpu, memory types.Object, err error) {
	num := func(key string) (types.Int64, error) {
		v, ok := cfg.Get(key)
		if !ok || v == "" {
			return types.Int64Null(), nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return types.Int64Null(), fmt.Errorf("%s: %q is not a number", key, v)
		}
		return types.Int64Value(n), nil
	}
	c := cpuModel{Type: types.StringNull(), NUMA: types.BoolNull()}
	if c.Cores, err = num("cores"); err != nil {
		return
	}
	if c.Sockets, err = num("sockets"); err != nil {
		return
	}
	// "cpu" is a property string: the type, then options such as flags.
	if v, ok := cfg.Get("cpu"); ok && v != "" {
		p, perr := pve.ParsePropertyString(v, "cputype")
		if perr != nil {
			return cpu, memory, fmt.Errorf("cpu: %w", perr)
		}
		c.Type = types.StringValue(p.Value("cputype"))
	}
	if v, ok := cfg.Get("numa"); ok {
		c.NUMA = types.BoolValue(v == "1")
	}
	var mem memoryModel
	if mem.Size, err = num("memory"); err != nil {
		return
	}
	if mem.Balloon, err = num("balloon"); err != nil {
		return
	}
	return objectOf(cpuTypes, &c), objectOf(memoryTypes, &mem), nil
}
