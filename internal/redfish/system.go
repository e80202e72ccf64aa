package redfish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stmcginnis/gofish/schemas"
)

// System finds a computer system by ID; "" is the only system, an error
// when the BMC manages several.
func (s *Session) System(id string) (*schemas.ComputerSystem, error) {
	systems, err := s.api.Service.Systems()
	if err != nil {
		return nil, fmt.Errorf("listing systems: %w", err)
	}
	var ids []string
	for _, sys := range systems {
		if id == "" && len(systems) == 1 || sys.ID == id {
			return sys, nil
		}
		ids = append(ids, sys.ID)
	}
	if id == "" {
		return nil, fmt.Errorf("the BMC manages %d systems (%s): set system_id", len(systems), strings.Join(ids, ", "))
	}
	return nil, fmt.Errorf("system %q: %w (the BMC has %s)", id, ErrNotFound, strings.Join(ids, ", "))
}

// Reset sends a reset action to a system after checking the reset type
// against what the BMC allows, and waits for its task when the BMC answers
// with one.
func (s *Session) Reset(sys *schemas.ComputerSystem, resetType string) error {
	allowed, err := sys.GetSupportedResetTypes()
	if err != nil {
		return fmt.Errorf("reading the reset types of system %s: %w", sys.ID, err)
	}
	if len(allowed) > 0 && !slices.Contains(allowed, schemas.ResetType(resetType)) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		return fmt.Errorf("system %s does not allow the reset type %s; it allows %s", sys.ID, resetType, strings.Join(names, ", "))
	}
	task, err := sys.Reset(schemas.ResetType(resetType))
	if err != nil {
		return fmt.Errorf("resetting system %s (%s): %w", sys.ID, resetType, err)
	}
	return s.waitTask(task, "reset "+resetType)
}

// waitTask waits for an action the BMC answered with 202 and a task
// monitor.
func (s *Session) waitTask(task *schemas.TaskMonitorInfo, what string) error {
	if task == nil || task.TaskMonitor == "" {
		return nil
	}
	res, err := schemas.WaitForTaskMonitor(s.ctx, s.api, 500*time.Millisecond, task, nil)
	if res != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("%s: waiting for the BMC's task %s: %w", what, task.TaskMonitor, err)
	}
	return nil
}

// WaitPower polls a system until its power state is want ("On", "Off").
func (s *Session) WaitPower(ctx context.Context, id, want string) (string, error) {
	delay := 250 * time.Millisecond
	for {
		sys, err := s.System(id)
		if err != nil {
			return "", err
		}
		if string(sys.PowerState) == want {
			return want, nil
		}
		select {
		case <-ctx.Done():
			return string(sys.PowerState), fmt.Errorf("system %s is %s, not %s: %w", sys.ID, sys.PowerState, want, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
	}
}

// BootOverride is a system's boot source override.
type BootOverride struct {
	Target, Enabled, Mode string
	// AllowedTargets is what the BMC lists as allowed targets (may be
	// empty).
	AllowedTargets []string
}

// Boot reads a system's boot override.
func Boot(sys *schemas.ComputerSystem) BootOverride {
	b := BootOverride{Target: string(sys.Boot.BootSourceOverrideTarget), Enabled: string(sys.Boot.BootSourceOverrideEnabled),
		Mode: string(sys.Boot.BootSourceOverrideMode)}
	for _, t := range sys.Boot.AllowableBootSourceOverrideTargetValues {
		b.AllowedTargets = append(b.AllowedTargets, string(t))
	}
	return b
}

// SetBoot changes a system's boot override; empty fields are not sent.
func (s *Session) SetBoot(sys *schemas.ComputerSystem, b BootOverride) error {
	if allowed := Boot(sys).AllowedTargets; b.Target != "" && len(allowed) > 0 && !slices.Contains(allowed, b.Target) {
		return fmt.Errorf("system %s does not allow the boot target %s; it allows %s", sys.ID, b.Target, strings.Join(allowed, ", "))
	}
	err := sys.SetBoot(&schemas.Boot{
		BootSourceOverrideTarget:  schemas.BootSource(b.Target),
		BootSourceOverrideEnabled: schemas.BootSourceOverrideEnabled(b.Enabled),
		BootSourceOverrideMode:    schemas.BootSourceOverrideMode(b.Mode),
	})
	if err != nil {
		return fmt.Errorf("setting the boot override of system %s: %w", sys.ID, err)
	}
	return nil
}

// Facts are what a system tells about itself.
type Facts struct {
	ID, Manufacturer, Model, SerialNumber, BIOSVersion, PowerState, Health string
	ProcessorCount                                                         int
	ProcessorModel                                                         string
	MemoryGiB                                                              float64
	MACAddresses                                                           []string
	NICs                                                                   []NIC
	BMCFirmwareVersion                                                     string
}

// NIC is one of a system's Ethernet interfaces.
type NIC struct {
	ID, Name, MAC string
}

// SystemFacts reads a system's facts, its NICs' MAC addresses and its
// manager's firmware version.
func (s *Session) SystemFacts(sys *schemas.ComputerSystem) (*Facts, error) {
	f := &Facts{ID: sys.ID, Manufacturer: sys.Manufacturer, Model: sys.Model, SerialNumber: sys.SerialNumber,
		BIOSVersion: sys.BiosVersion, PowerState: string(sys.PowerState), Health: string(sys.Status.Health),
		ProcessorModel: sys.ProcessorSummary.Model}
	if m := sys.MemorySummary.TotalSystemMemoryGiB; m != nil {
		f.MemoryGiB = *m
	}
	if sys.ProcessorSummary.Count != nil {
		f.ProcessorCount = int(*sys.ProcessorSummary.Count)
	}
	nics, err := sys.EthernetInterfaces()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("listing the NICs of system %s: %w", sys.ID, err)
	}
	for _, n := range nics {
		mac := n.MACAddress
		if mac == "" {
			mac = n.PermanentMACAddress
		}
		if mac != "" {
			f.MACAddresses = append(f.MACAddresses, strings.ToUpper(mac))
			f.NICs = append(f.NICs, NIC{ID: n.ID, Name: n.Name, MAC: strings.ToUpper(mac)})
		}
	}
	managers, err := sys.ManagedBy()
	if err == nil && len(managers) > 0 {
		f.BMCFirmwareVersion = managers[0].FirmwareVersion
	}
	return f, nil
}
