package acctest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
)

// FilesURL is the base URL of the lab's download server (package mirror):
// the simulated lab's own, or PVE_LAB_FILES_URL (which cmd/pvelab exports)
// when the tests run against a lab given by PVE_ENDPOINT.
func FilesURL(t *testing.T) string {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests skipped unless TF_ACC is set") // as resource.Test does
	}
	if lab != nil {
		return lab.FilesURL()
	}
	if u := os.Getenv("PVE_LAB_FILES_URL"); u != "" {
		return strings.TrimRight(u, "/")
	}
	t.Fatal("PVE_LAB_FILES_URL is not set: the tests need a server with the lab's files (package mirror)")
	return ""
}

// FileURL is the download server's URL of one of its files (mirror.DebianTemplate, ...).
func FileURL(t *testing.T, name string) string {
	t.Helper()
	f, ok := mirror.Lookup(name)
	if !ok {
		t.Fatalf("acctest: the download server has no %s", name)
	}
	return FilesURL(t) + f.Path
}

// EnsureFile puts one of the download server's files on node's local
// storage, as a user does on a fresh node: through PVE's download-url, with
// its checksum, unless it is there already. It returns the volume ID
// ("local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"). Tests about
// something else (containers, VMs with an ISO) use it in their setup.
func EnsureFile(t *testing.T, c *pve.Client, node, name string) string {
	t.Helper()
	f, ok := mirror.Lookup(name)
	if !ok {
		t.Fatalf("acctest: the download server has no %s", name)
	}
	content := "iso"
	if strings.Contains(name, ".tar") {
		content = "vztmpl"
	}
	volid := "local:" + content + "/" + name
	ctx := context.Background()
	vols, err := c.StorageContent(ctx, node, "local", content, 0)
	if err != nil {
		t.Fatalf("acctest: %v", err)
	}
	for _, v := range vols {
		if v.VolID == volid {
			return volid
		}
	}
	upid, err := c.StartDownload(ctx, node, "local", pve.Download{URL: FileURL(t, name), Content: content, Filename: name,
		Checksum: f.SHA256, ChecksumAlgorithm: "sha256"})
	if err == nil {
		_, err = c.WaitTask(ctx, upid, pve.WaitOptions{})
	}
	if err != nil {
		t.Fatalf("acctest: putting %s on %s: %v", name, node, err)
	}
	return volid
}
