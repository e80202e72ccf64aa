package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/pbssim"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim/simtest"
)

// envOf reads the lab's export lines ("export K=V", V shell-quoted).
func envOf(lines []string) map[string]string {
	env := map[string]string{}
	for _, l := range lines {
		k, v, _ := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		env[k] = strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'")
	}
	return env
}

// The inventory of a lab lists what its PVE nodes, PBS and BMCs hold, and
// an object made through the API shows up as a new line (the soak's
// orphan check).
func TestInventoryOfLab(t *testing.T) {
	lab := simtest.Start(t, func() (*testlab.Lab, error) {
		return testlab.Start(testlab.Options{Nodes: 2, SchemaPath: "-", Logf: t.Logf})
	})
	pbs := simtest.Start(t, func() (*pbssim.Server, error) {
		return pbssim.Start(pbssim.Options{CA: lab.CA(), SchemaPath: "-", Logf: t.Logf})
	})
	env := envOf(append(lab.EnvLines(), pbs.EnvLines()...))
	env["BMC_CA_CERTIFICATE"] = lab.CACertPEM()
	before, err := inventory(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pve pve1 iface vmbr0 bridge", "pve pve2 storage local-lvm lvmthin", "pve pve1 cluster pvelab",
		"bmc pve1 power On", "bmc pve2 boot-override Disabled None"} {
		if !slices.Contains(before, want) {
			t.Errorf("no %q in\n%s", want, strings.Join(before, "\n"))
		}
	}

	client := simtest.HTTPClient(t, lab.CACertPEM())
	req, _ := http.NewRequest(http.MethodPost, env["PVE_ENDPOINT"]+"/api2/json/pools", strings.NewReader(url.Values{"poolid": {"left"}}.Encode()))
	req.Header.Set("Authorization", "PVEAPIToken="+env["PVE_API_TOKEN"])
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := client.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("create pool: %v %v", res, err)
	}
	res.Body.Close()
	after, err := inventory(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, l := range after {
		if !slices.Contains(before, l) {
			added = append(added, l)
		}
	}
	if want := []string{"pve pve1 pool left", "pve pve2 pool left"}; !slices.Equal(added, want) {
		t.Errorf("new lines %q, want %q", added, want)
	}
}
