package vm

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// Plan-time checks of the values PVE checks with named formats, so that a
// bad one is an error at plan time, naming the attribute, rather than a
// 400 in the middle of an apply (qemu-server 9.1: PVE/QemuServer/CPUConfig.pm
// validate_vm_cpu_conf, PVE/QemuServer/Network.pm $ipconfig_fmt, and
// pve-common's pve-ipv4-config/pve-ipv6-config).

// cpuModels are the CPU types qemu-server 9.1 knows ($cpu_vendor_list and
// $builtin_models); custom models are named "custom-<name>".
var cpuModels = strings.Fields(`486 pentium pentium2 pentium3 coreduo core2duo Conroe Penryn Nehalem Nehalem-IBRS
	Westmere Westmere-IBRS SandyBridge SandyBridge-IBRS IvyBridge IvyBridge-IBRS Haswell Haswell-IBRS Haswell-noTSX
	Haswell-noTSX-IBRS Broadwell Broadwell-IBRS Broadwell-noTSX Broadwell-noTSX-IBRS Skylake-Client Skylake-Client-IBRS
	Skylake-Client-noTSX-IBRS Skylake-Client-v4 Skylake-Server Skylake-Server-IBRS Skylake-Server-noTSX-IBRS
	Skylake-Server-v4 Skylake-Server-v5 Cascadelake-Server Cascadelake-Server-v2 Cascadelake-Server-noTSX
	Cascadelake-Server-v4 Cascadelake-Server-v5 Cooperlake Cooperlake-v2 KnightsMill Icelake-Client
	Icelake-Client-noTSX Icelake-Server Icelake-Server-noTSX Icelake-Server-v3 Icelake-Server-v4 Icelake-Server-v5
	Icelake-Server-v6 SapphireRapids SapphireRapids-v2 GraniteRapids athlon phenom Opteron_G1 Opteron_G2 Opteron_G3
	Opteron_G4 Opteron_G5 EPYC EPYC-IBPB EPYC-v3 EPYC-v4 EPYC-Rome EPYC-Rome-v2 EPYC-Rome-v3 EPYC-Rome-v4 EPYC-Milan
	EPYC-Milan-v2 EPYC-Genoa host kvm32 kvm64 qemu32 qemu64 max x86-64-v2 x86-64-v2-AES x86-64-v3 x86-64-v4`)

// cpuTypeValidator accepts the CPU types PVE knows and custom models.
type cpuTypeValidator struct{}

func (cpuTypeValidator) Description(context.Context) string {
	return "a CPU type PVE knows (host, kvm64, x86-64-v2-AES, EPYC-Rome, ...) or custom-<name>"
}

func (v cpuTypeValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (cpuTypeValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	t := req.ConfigValue.ValueString()
	if slices.Contains(cpuModels, t) || (strings.HasPrefix(t, "custom-") && len(t) > len("custom-")) {
		return
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Unknown CPU Type",
		fmt.Sprintf("PVE does not know the CPU type %q: use a built-in model (host, kvm64, x86-64-v2-AES, EPYC-Rome, "+
			"Skylake-Server, ...) or a custom model as custom-<name>", t))
}

// ipConfigValidator checks one address of cloud-init's ipconfig[n]:
// pve-ipv4-config or pve-ipv6-config (dhcp, manual, auto for IPv6, or an
// address with a prefix length from 8), or a gateway (ipv4, ipv6).
type ipConfigValidator struct {
	v6      bool
	gateway bool
}

func (v ipConfigValidator) Description(context.Context) string {
	family := "IPv4"
	if v.v6 {
		family = "IPv6"
	}
	if v.gateway {
		return "an " + family + " address"
	}
	if v.v6 {
		return "dhcp, auto, manual or an IPv6 address with prefix length"
	}
	return "dhcp, manual or an IPv4 address with prefix length"
}

func (v ipConfigValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v ipConfigValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if !v.valid(req.ConfigValue.ValueString()) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Address",
			fmt.Sprintf("%q is not %s", req.ConfigValue.ValueString(), v.Description(ctx)))
	}
}

func (v ipConfigValidator) valid(s string) bool {
	family := func(a netip.Addr) bool { return a.Is6() == v.v6 && !a.Is4In6() && a.Zone() == "" }
	if v.gateway {
		a, err := netip.ParseAddr(s)
		return err == nil && family(a)
	}
	switch s {
	case "dhcp", "manual":
		return true
	case "auto":
		return v.v6
	}
	addr, bits, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(bits)
	a, aerr := netip.ParseAddr(addr)
	maxBits := 32
	if v.v6 {
		maxBits = 128
	}
	return ok && err == nil && aerr == nil && family(a) && n >= 8 && n <= maxBits
}

// checked is a with more validators.
func checked(a schema.StringAttribute, v ...validator.String) schema.StringAttribute {
	a.Validators = append(a.Validators, v...)
	return a
}

// alsoNeeds requires the sibling attribute of the same object, as the
// property string's "requires" does (gw requires ip).
func alsoNeeds(sibling string) validator.String {
	return stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName(sibling))
}
