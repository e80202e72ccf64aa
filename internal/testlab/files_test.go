package testlab

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pvesim/pvetest"
)

// A fresh lab's nodes have nothing on local; what a guest needs comes from
// the lab's download server, through the API, as on a real fresh node.
func TestLabFilesDownload(t *testing.T) {
	t.Parallel()
	lab := startLab(t, Options{Nodes: 2})
	c := newCaller(t, lab).WithToken()

	env := strings.Join(lab.EnvLines(), "\n")
	if !strings.Contains(env, "export PVE_LAB_FILES_URL="+lab.FilesURL()) {
		t.Errorf("EnvLines lack the download server:\n%s", env)
	}
	resp, err := http.Get(lab.FilesURL() + "/images/system/SHA512SUMS")
	if err != nil {
		t.Fatal(err)
	}
	sums, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tmpl, _ := mirror.Lookup(mirror.DebianTemplate)
	if !strings.Contains(string(sums), tmpl.SHA512+"  "+tmpl.Name()+"\n") {
		t.Errorf("SHA512SUMS = %q", sums)
	}

	for _, n := range []string{"pve1", "pve2"} {
		if l := pvetest.DataList(t, c.Get("/nodes/"+n+"/storage/local/content")); len(l) != 0 {
			t.Errorf("%s: local = %v", n, l)
		}
	}
	res := c.Form(http.MethodPost, "/nodes/pve2/storage/local/download-url", url.Values{
		"url": {lab.FileURL(tmpl.Name())}, "content": {"vztmpl"}, "filename": {tmpl.Name()},
		"checksum": {tmpl.SHA512}, "checksum-algorithm": {"sha512"},
	})
	pvetest.Expect(t, res, http.StatusOK, "OK")
	upid := res.Body["data"].(string)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := c.Get("/nodes/pve2/tasks/" + url.PathEscape(upid) + "/status").Body["data"].(map[string]any)
		if st["status"] == "stopped" {
			if st["exitstatus"] != "OK" {
				t.Fatalf("download: %v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("download did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	l := pvetest.DataList(t, c.Get("/nodes/pve2/storage/local/content"))
	if len(l) != 1 || l[0]["volid"] != "local:vztmpl/"+tmpl.Name() || l[0]["size"] != float64(tmpl.Size) {
		t.Errorf("pve2 local = %v", l)
	}
}
