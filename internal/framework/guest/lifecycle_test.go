package guest

import (
	"net/url"
	"testing"
)

func TestImportID(t *testing.T) {
	for id, want := range map[string]int64{"100": 100, "pve1/100": 100, "pve2/999999999": 999999999} {
		if got, err := ImportID(id); err != nil || got != want {
			t.Errorf("ImportID(%q) = %d, %v; want %d", id, got, err, want)
		}
	}
	for _, id := range []string{"", "99", "pve1/", "pve1/abc", "abc"} {
		if _, err := ImportID(id); err == nil {
			t.Errorf("ImportID(%q) should fail", id)
		}
	}
}

func TestSlotParams(t *testing.T) {
	prior := map[string]string{"net0": "virtio=AA,bridge=vmbr0", "net1": "virtio=BB,bridge=vmbr0", "net2": "x"}
	plan := map[string]string{"net0": "virtio=AA,bridge=vmbr0", "net1": "virtio=BB,bridge=vmbr1", "net3": "y"}
	p := url.Values{}
	SlotParams(plan, prior, true, p)
	want := url.Values{"net1": {"virtio=BB,bridge=vmbr1"}, "net3": {"y"}, "delete": {"net2"}}
	if p.Encode() != want.Encode() {
		t.Errorf("managed: %v, want %v", p, want)
	}
	p = url.Values{}
	SlotParams(plan, prior, false, p)
	delete(want, "delete")
	if p.Encode() != want.Encode() {
		t.Errorf("unmanaged: %v, want %v (no deletes)", p, want)
	}
}
