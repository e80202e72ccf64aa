package pve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Cluster resource mappings (/cluster/mapping/pci and /cluster/mapping/usb):
// one cluster-wide name for equivalent host devices on several nodes.

// MappingKind is "pci" or "usb".
type MappingKind string

// The mapping kinds.
const (
	PCIMapping MappingKind = "pci"
	USBMapping MappingKind = "usb"
)

// Mapping is a resource mapping as PVE returns it.
type Mapping struct {
	ID          string
	Description string
	// Map holds the per-node entries as property strings
	// ("node=pve1,path=0000:01:00.0,id=10de:2204,...").
	Map []string
	// Flags holds the boolean options ("mdev", "live-migration-capable"),
	// absent when PVE has none set.
	Flags  map[string]bool
	Digest string
}

// MappingCheck is a diagnostic of check-node: a severity ("warning",
// "error") and a message.
type MappingCheck struct {
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func mappingPath(kind MappingKind, id string) string {
	p := "/cluster/mapping/" + string(kind)
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

// GetMapping reads a mapping. One that does not exist is ErrNotFound.
func (c *Client) GetMapping(ctx context.Context, kind MappingKind, id string) (*Mapping, error) {
	var raw map[string]json.RawMessage
	if err := c.Get(ctx, mappingPath(kind, id), nil, &raw); err != nil {
		return nil, fmt.Errorf("reading %s mapping %s: %w", kind, id, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%s mapping %s: %w", kind, id, ErrNotFound)
	}
	return mappingFromAPI(kind, id, raw)
}

// mappingFromAPI is mapping id as PVE returns it (GET of the mapping, or
// its entry of the index).
func mappingFromAPI(kind MappingKind, id string, raw map[string]json.RawMessage) (*Mapping, error) {
	m := &Mapping{ID: id, Flags: map[string]bool{}}
	for key, v := range raw {
		switch key {
		case "map":
			if err := json.Unmarshal(v, &m.Map); err != nil {
				return nil, fmt.Errorf("%s mapping %s: map: %w", kind, id, err)
			}
		case "description":
			_ = json.Unmarshal(v, &m.Description)
		case "digest":
			_ = json.Unmarshal(v, &m.Digest)
		case "mdev", "live-migration-capable":
			var n json.Number
			if err := json.Unmarshal(v, &n); err == nil {
				m.Flags[key] = n.String() == "1"
			} else {
				var s string
				_ = json.Unmarshal(v, &s)
				m.Flags[key] = s == "1"
			}
		}
	}
	return m, nil
}

// CreateMapping creates a mapping with the given settings (map, description,
// flags).
func (c *Client) CreateMapping(ctx context.Context, kind MappingKind, id string, p url.Values) error {
	p.Set("id", id)
	exists := func(ctx context.Context) (bool, error) { _, err := c.GetMapping(ctx, kind, id); return found(err) }
	if err := c.postCreate(ctx, mappingPath(kind, ""), p, exists); err != nil {
		return fmt.Errorf("creating %s mapping %s: %w", kind, id, err)
	}
	return nil
}

// UpdateMapping changes a mapping; p carries the digest it was read with
// and "delete" for the settings to clear.
func (c *Client) UpdateMapping(ctx context.Context, kind MappingKind, id string, p url.Values) error {
	if err := c.Put(ctx, mappingPath(kind, id), p, nil); err != nil {
		return fmt.Errorf("changing %s mapping %s: %w", kind, id, err)
	}
	return nil
}

// DeleteMapping deletes a mapping. PVE does not look at the guests that
// use it; callers check that first.
func (c *Client) DeleteMapping(ctx context.Context, kind MappingKind, id string) error {
	if err := c.Delete(ctx, mappingPath(kind, id), nil, nil); err != nil {
		return fmt.Errorf("deleting %s mapping %s: %w", kind, id, err)
	}
	return nil
}

// CheckMapping runs PVE's check of a mapping's entries against a node's
// hardware (GET ...?check-node=node) and returns the diagnostics for id.
func (c *Client) CheckMapping(ctx context.Context, kind MappingKind, id, node string) ([]MappingCheck, error) {
	var list []struct {
		ID     string         `json:"id"`
		Checks []MappingCheck `json:"checks"`
		Errors []MappingCheck `json:"errors"` // USB mappings name them so
		Error  []MappingCheck `json:"error"`  // as the schema documents
	}
	if err := c.Get(ctx, mappingPath(kind, ""), url.Values{"check-node": {node}}, &list); err != nil {
		return nil, fmt.Errorf("checking %s mapping %s on node %s: %w", kind, id, node, err)
	}
	for _, m := range list {
		if m.ID == id {
			return append(append(m.Checks, m.Errors...), m.Error...), nil
		}
	}
	return nil, fmt.Errorf("%s mapping %s: %w", kind, id, ErrNotFound)
}

// PCIDevice is a PCI function of a node (/nodes/{node}/hardware/pci).
type PCIDevice struct {
	ID                  string `json:"id"` // 0000:01:00.0
	Class               string `json:"class"`
	Vendor              string `json:"vendor"`
	Device              string `json:"device"`
	VendorName          string `json:"vendor_name"`
	DeviceName          string `json:"device_name"`
	SubsystemVendor     string `json:"subsystem_vendor"`
	SubsystemDevice     string `json:"subsystem_device"`
	SubsystemVendorName string `json:"subsystem_vendor_name"`
	SubsystemDeviceName string `json:"subsystem_device_name"`
	IOMMUGroup          int    `json:"iommugroup"`
	MDev                Bool   `json:"mdev"`
}

// VendorDevice is the device's "vendor:device" in hex without 0x, as
// mappings write it.
func (d PCIDevice) VendorDevice() string { return hexID(d.Vendor) + ":" + hexID(d.Device) }

// SubsystemID is the subsystem's "vendor:device", "" when there is none.
func (d PCIDevice) SubsystemID() string {
	if d.SubsystemVendor == "" || d.SubsystemDevice == "" {
		return ""
	}
	return hexID(d.SubsystemVendor) + ":" + hexID(d.SubsystemDevice)
}

func hexID(s string) string { return strings.ToLower(strings.TrimPrefix(s, "0x")) }

// NodePCIDevices lists a node's PCI functions, all classes included
// (PVE hides memory controllers, bridges and processors by default).
func (c *Client) NodePCIDevices(ctx context.Context, node string) ([]PCIDevice, error) {
	var out []PCIDevice
	q := url.Values{"pci-class-blacklist": {""}}
	if err := c.Get(ctx, "/nodes/"+url.PathEscape(node)+"/hardware/pci", q, &out); err != nil {
		return nil, fmt.Errorf("listing the PCI devices of node %s: %w", node, err)
	}
	return out, nil
}
