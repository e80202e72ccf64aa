package redfish

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/stmcginnis/gofish/schemas"
)

// MediaSlots lists a system's virtual media slots, wherever the BMC keeps
// them: under the system (newer BMCs, OpenBMC, iLO 6) or under its manager
// (iDRAC, older iLO, Supermicro).
func (s *Session) MediaSlots(sys *schemas.ComputerSystem) ([]*schemas.VirtualMedia, error) {
	slots, err := sys.VirtualMedia()
	if err == nil && len(slots) > 0 {
		return slots, nil
	}
	managers, merr := sys.ManagedBy()
	if merr != nil {
		return nil, fmt.Errorf("listing the managers of system %s: %w", sys.ID, merr)
	}
	for _, m := range managers {
		ms, err := m.VirtualMedia()
		if err != nil {
			continue
		}
		slots = append(slots, ms...)
	}
	if len(slots) == 0 {
		return nil, fmt.Errorf("system %s: the BMC offers no virtual media (neither under the system nor under its manager)", sys.ID)
	}
	return slots, nil
}

// MediaTypesFor are the slot media types that fit an image: a CD or DVD
// for an ISO, a USB stick or removable disk for a disk image.
func MediaTypesFor(image string) []schemas.VirtualMediaType {
	p := image
	if u, err := url.Parse(image); err == nil {
		p = u.Path
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".iso":
		return []schemas.VirtualMediaType{schemas.CDVirtualMediaType, schemas.DVDVirtualMediaType}
	case ".img", ".raw", ".ima":
		return []schemas.VirtualMediaType{schemas.USBStickVirtualMediaType, schemas.VirtualMediaType("RemovableDisk"), schemas.FloppyVirtualMediaType}
	}
	return nil
}

// PickSlot returns the slot named id, or with id "" the first slot whose
// media types fit the image.
func PickSlot(slots []*schemas.VirtualMedia, id, image string) (*schemas.VirtualMedia, error) {
	var names []string
	for _, sl := range slots {
		names = append(names, fmt.Sprintf("%s (%s)", sl.ID, joinTypes(sl.MediaTypes)))
		if id != "" && sl.ID == id {
			return sl, nil
		}
	}
	if id != "" {
		return nil, fmt.Errorf("no virtual media slot %s: %w (the BMC has %s)", id, ErrNotFound, strings.Join(names, ", "))
	}
	want := MediaTypesFor(image)
	for _, sl := range slots {
		for _, t := range sl.MediaTypes {
			if slices.Contains(want, t) {
				return sl, nil
			}
		}
	}
	return nil, fmt.Errorf("no virtual media slot takes %s (the BMC has %s): set slot", image, strings.Join(names, ", "))
}

func joinTypes(ts []schemas.VirtualMediaType) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return strings.Join(out, ", ")
}

// Insert is what to insert: only the fields set are sent.
type Insert struct {
	Image            string
	WriteProtected   *bool
	TransferProtocol string
	UserName         *string
	Password         *string
}

// InsertMedia inserts an image into a slot: with the InsertMedia action
// when the slot lists one, else with a PATCH of the slot (as some BMCs
// want). A task the BMC answers with is waited for.
func (s *Session) InsertMedia(slot *schemas.VirtualMedia, in Insert) error {
	inserted := true
	p := &schemas.VirtualMediaInsertMediaParameters{Image: in.Image, Inserted: &inserted, WriteProtected: in.WriteProtected,
		UserName: in.UserName, Password: in.Password}
	if in.TransferProtocol != "" {
		t := schemas.TransferProtocolType(in.TransferProtocol)
		p.TransferProtocolType = &t
	}
	task, err := slot.InsertMedia(p)
	if err != nil {
		return fmt.Errorf("inserting %s into %s: %w", in.Image, slot.ID, err)
	}
	return s.waitTask(task, "inserting "+in.Image)
}

// Refresh reads a slot again (its ETag changes with every change, and a
// PATCH with a stale one is refused).
func (s *Session) Refresh(slot *schemas.VirtualMedia) (*schemas.VirtualMedia, error) {
	fresh, err := schemas.GetVirtualMedia(s.api, slot.ODataID)
	if err != nil {
		return nil, fmt.Errorf("reading %s again: %w", slot.ID, err)
	}
	return fresh, nil
}

// EjectMedia ejects a slot's media (the action, or a PATCH where the slot
// has none).
func (s *Session) EjectMedia(slot *schemas.VirtualMedia) error {
	task, err := slot.EjectMedia()
	if err != nil {
		return fmt.Errorf("ejecting %s: %w", slot.ID, err)
	}
	return s.waitTask(task, "ejecting "+slot.ID)
}

// Inserted reports whether a slot holds media.
func Inserted(slot *schemas.VirtualMedia) bool {
	if slot.Inserted != nil {
		return *slot.Inserted
	}
	return slot.Image != ""
}
