// Package machine describes one physical server of the lab: its name and
// number, management address, CPU, memory, disks, PCI and USB devices,
// NICs and when it booted. These are the facts both the PVE node running on
// the machine and the machine's BMC report; neither depends on the other,
// both depend on this package.
package machine

import (
	"fmt"
	"math"
	"net/netip"
	"sync/atomic"
	"time"
)

const (
	// GiB is a gibibyte in bytes.
	GiB = uint64(1) << 30

	// CPUModel is the model name of the machines' CPU (/proc/cpuinfo).
	CPUModel = "Intel(R) Xeon(R) E-2388G CPU @ 3.20GHz"
	// CPUFlags are the CPU's flags as /proc/cpuinfo lists them.
	CPUFlags = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb ssbd ibrs ibpb stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid mpx avx512f avx512dq rdseed adx smap avx512ifma clflushopt intel_pt avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves dtherm ida arat pln pts hwp hwp_notify hwp_act_window hwp_epp hwp_pkg_req avx512vbmi umip pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq rdpid fsrm md_clear flush_l1d arch_capabilities"

	// OUI is the vendor prefix (Supermicro) of the machines' MAC addresses.
	OUI = "3C:EC:EF"
)

// Machine is one physical server. Its fields do not change after New; the
// boot time does (SetBoot), safely for concurrent use.
type Machine struct {
	Name      string // "pve1"
	ID        int    // its number, 1-based (the node ID)
	IP        string // management address
	Sockets   int
	Cores     int // per socket
	Threads   int // logical CPUs
	MemTotal  uint64
	SwapTotal uint64
	RootTotal uint64
	NICs      []NIC        // eno1 .. eno4
	bootNano  atomic.Int64 // when it booted last (UnixNano); set again when it is powered on
}

// NIC is one physical network port of a machine.
type NIC struct {
	Name string // "eno1"
	MAC  string // "3C:EC:EF:6A:11:20"
}

// nicNames are the physical NICs of every machine.
var nicNames = []string{"eno1", "eno2", "eno3", "eno4"}

// New returns machine number i (1-based) of a lab started at now.
func New(i int, now time.Time) *Machine {
	boot := now.Add(-(72*time.Hour + time.Duration(i)*97*time.Minute))
	m := &Machine{
		Name:      fmt.Sprintf("pve%d", i),
		ID:        i,
		IP:        MgmtAddress(i),
		Sockets:   1,
		Cores:     8,
		Threads:   16,
		MemTotal:  64 * GiB,
		SwapTotal: 8 * GiB,
		RootTotal: 94 * GiB,
	}
	for nic, name := range nicNames {
		m.NICs = append(m.NICs, NIC{Name: name, MAC: nicMAC(i, nic)})
	}
	m.bootNano.Store(boot.UnixNano())
	return m
}

// MgmtGateway is the gateway of the management network (192.168.100.0/24)
// the machines and their BMCs are on.
const MgmtGateway = "192.168.100.1"

// MgmtAddress is the management address of machine number i (1-based).
func MgmtAddress(i int) string {
	a := netip.MustParseAddr("192.168.100.10")
	for range i {
		a = a.Next()
	}
	return a.String()
}

// nicMAC is the MAC address of NIC nic (0-based: eno1 is 0) of machine i.
func nicMAC(i, nic int) string {
	return fmt.Sprintf("%s:%02X:%02X:%02X", OUI, 0x6A, 0x10+i, 0x20+2*nic)
}

// NICNames returns the names of the machine's NICs.
func (m *Machine) NICNames() []string {
	names := make([]string, len(m.NICs))
	for i, n := range m.NICs {
		names[i] = n.Name
	}
	return names
}

// Boot is when the machine booted last.
func (m *Machine) Boot() time.Time { return time.Unix(0, m.bootNano.Load()) }

// SetBoot records that the machine booted at t.
func (m *Machine) SetBoot(t time.Time) { m.bootNano.Store(t.UnixNano()) }

// Load is a small, slowly varying usage figure in [base, base+spread).
func (m *Machine) Load(now time.Time, base, spread float64) float64 {
	phase := float64(now.Unix())/97 + float64(m.ID)
	return base + spread*(0.5+0.5*math.Sin(phase))
}

// Uptime is the seconds since the machine booted.
func (m *Machine) Uptime(now time.Time) int64 { return int64(now.Sub(m.Boot()).Seconds()) }

// MemUsed is the memory in use at now.
func (m *Machine) MemUsed(now time.Time) uint64 {
	return 6*GiB + uint64(m.Load(now, 0, 1)*float64(GiB))
}

// RootUsed is the space in use on the root file system.
func (m *Machine) RootUsed() uint64 { return 4*GiB + uint64(m.ID)*113*1024*1024 }

// CPU is the CPU usage (0..1) at now.
func (m *Machine) CPU(now time.Time) float64 {
	return math.Round(m.Load(now, 0.004, 0.03)*1e6) / 1e6
}
