package pvesim

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/pveschema"
)

// Named formats of qemu-server that the API schema only names, so that
// PVE::JSONSchema checks them as the real nodes do (qemu-server e781d971,
// 9.1.3):
//   - pve-vm-cpu-conf, a VM's cpu option (PVE/QemuServer/CPUConfig.pm:
//     $cpu_fmt, validate_vm_cpu_conf);
//   - pve-phys-bits (parse_phys_bits);
//   - pve-qm-ipconfig, cloud-init's ipconfig[n] (PVE/QemuServer/Network.pm:
//     $ipconfig_fmt).

// cpuVendors are $cpu_vendor_list's models: the built-in CPU types.
var cpuVendors = strings.Fields(`486 pentium pentium2 pentium3 coreduo core2duo Conroe Penryn Nehalem Nehalem-IBRS
	Westmere Westmere-IBRS SandyBridge SandyBridge-IBRS IvyBridge IvyBridge-IBRS Haswell Haswell-IBRS Haswell-noTSX
	Haswell-noTSX-IBRS Broadwell Broadwell-IBRS Broadwell-noTSX Broadwell-noTSX-IBRS Skylake-Client Skylake-Client-IBRS
	Skylake-Client-noTSX-IBRS Skylake-Client-v4 Skylake-Server Skylake-Server-IBRS Skylake-Server-noTSX-IBRS
	Skylake-Server-v4 Skylake-Server-v5 Cascadelake-Server Cascadelake-Server-v2 Cascadelake-Server-noTSX
	Cascadelake-Server-v4 Cascadelake-Server-v5 Cooperlake Cooperlake-v2 KnightsMill Icelake-Client
	Icelake-Client-noTSX Icelake-Server Icelake-Server-noTSX Icelake-Server-v3 Icelake-Server-v4 Icelake-Server-v5
	Icelake-Server-v6 SapphireRapids SapphireRapids-v2 GraniteRapids athlon phenom Opteron_G1 Opteron_G2 Opteron_G3
	Opteron_G4 Opteron_G5 EPYC EPYC-IBPB EPYC-v3 EPYC-v4 EPYC-Rome EPYC-Rome-v2 EPYC-Rome-v3 EPYC-Rome-v4 EPYC-Milan
	EPYC-Milan-v2 EPYC-Genoa host kvm32 kvm64 qemu32 qemu64 max`)

// cpuBuiltinModels are $builtin_models: the x86-64 ABI levels.
var cpuBuiltinModels = []string{"x86-64-v2", "x86-64-v2-AES", "x86-64-v3", "x86-64-v4"}

// cpuSupportedFlags are @supported_cpu_flags_names: the flags a VM's own
// configuration may set.
var cpuSupportedFlags = []string{"nested-virt", "md-clear", "pcid", "spec-ctrl", "ssbd", "ibpb", "virt-ssbd", "amd-ssbd",
	"amd-no-ssb", "pdpe1gb", "hv-tlbflush", "hv-evmcs", "aes"}

var (
	cpuFlagAny       = `([+-])([a-zA-Z0-9\-_\.]+)`
	cpuFlagSupported = `([+-])(` + strings.Join(cpuSupportedFlags, "|") + `)`
	cpuFlagsRE       = regexp.MustCompile(`^` + cpuFlagSupported + `(;` + cpuFlagSupported + `)*$`)
	physBitsRE       = regexp.MustCompile(`^(host|\d{1,2})$`)
)

func intPtr(f float64) *float64 { return &f }

// cpuFormat is $cpu_fmt.
var cpuFormat = map[string]*pveschema.Property{
	"cputype":        {Type: "string", Optional: true, DefaultKey: true},
	"reported-model": {Type: "string", Optional: true, Enum: cpuVendors},
	"hidden":         {Type: "boolean", Optional: true},
	"hv-vendor-id":   {Type: "string", Optional: true, Pattern: regexp.MustCompile(`^(?:[a-zA-Z0-9]{1,12})$`)},
	"flags": {Type: "string", Optional: true,
		Pattern: regexp.MustCompile(`^(?:` + cpuFlagAny + `(;` + cpuFlagAny + `)*)$`)},
	"guest-phys-bits": {Type: "integer", Optional: true, Minimum: intPtr(32), Maximum: intPtr(64)},
	"phys-bits":       {Type: "string", Optional: true, Format: "pve-phys-bits"},
}

// ipconfigFormat is $ipconfig_fmt.
var ipconfigFormat = map[string]*pveschema.Property{
	"ip":  {Type: "string", Optional: true, Format: "pve-ipv4-config"},
	"gw":  {Type: "string", Optional: true, Format: "ipv4", Requires: "ip"},
	"ip6": {Type: "string", Optional: true, Format: "pve-ipv6-config"},
	"gw6": {Type: "string", Optional: true, Format: "ipv6", Requires: "ip6"},
}

func init() {
	pveschema.RegisterFormat("pve-phys-bits", func(v string) string {
		n := 0
		_, err := fmt.Sscan(v, &n)
		if !physBitsRE.MatchString(v) || (v != "host" && (err != nil || n < 8 || n > 64)) {
			return "value must be an integer between 8 and 64 or 'host'\n"
		}
		return ""
	})
	pveschema.RegisterFormat("pve-vm-cpu-conf", checkVMCPUConf)
	pveschema.RegisterFormat("pve-qm-ipconfig", func(v string) string {
		return pveschema.CheckPropertyString(ipconfigFormat, v)
	})
}

// checkVMCPUConf is check_format of pve-vm-cpu-conf: the property string,
// then validate_vm_cpu_conf. The lab has no custom CPU models
// (/etc/pve/virtual-guest/cpu-models.conf).
func checkVMCPUConf(v string) string {
	if msg := pveschema.CheckPropertyString(cpuFormat, v); msg != "" {
		return msg
	}
	cpu, _ := pveschema.ParsePropertyString(cpuFormat, v, "")
	cputype := cpu["cputype"]
	switch {
	case cputype == "": // validate_cpu_conf
		return "CPU is missing cputype\n"
	case strings.HasPrefix(cputype, "custom-"): // get_custom_model
		return fmt.Sprintf("Custom cputype '%s' not found\n", strings.TrimPrefix(cputype, "custom-"))
	case !slices.Contains(cpuVendors, cputype) && !slices.Contains(cpuBuiltinModels, cputype):
		return fmt.Sprintf("Built-in cputype '%s' is not defined (missing 'custom-' prefix?)\n", cputype)
	case cpu["flags"] != "" && !cpuFlagsRE.MatchString(cpu["flags"]):
		return "VM-specific CPU flags must be a subset of: " + strings.Join(cpuSupportedFlags, ", ") + "\n"
	case cpu["reported-model"] != "":
		return "Property 'reported-model' not allowed in VM-specific CPU config.\n"
	}
	return ""
}
