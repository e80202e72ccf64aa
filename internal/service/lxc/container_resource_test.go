package lxc_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

const ctAddr = "pve_container.test"

// preCheckTemplates is acctest.PreCheck, then the templates the tests
// create containers from, put on the nodes through PVE's download-url (a
// fresh node has none).
func preCheckTemplates(t *testing.T) {
	t.Helper()
	acctest.PreCheck(t)
	c := acctest.PVEClient(t)
	for _, node := range []string{"pve1", "pve2"} {
		acctest.EnsureFile(t, c, node, mirror.DebianTemplate)
	}
	acctest.EnsureFile(t, c, "pve3", mirror.UbuntuTemplate)
}

func checkContainersDestroyed(t *testing.T) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "pve_container" {
				continue
			}
			vmid, _ := strconv.Atoi(rs.Primary.Attributes["vmid"])
			if g, err := acctest.PVEClient(t).FindGuest(context.Background(), vmid); err == nil {
				return fmt.Errorf("container %d still exists on %s", vmid, g.Node)
			}
		}
		return nil
	}
}

func containerConfig(memory int, rootfs int, mounts, nics string) string {
	return fmt.Sprintf(`
resource "pve_container" "test" {
  node            = "pve1"
  hostname        = "acc-ct"
  ostemplate      = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
  unprivileged    = true
  memory          = %d
  password        = "acc-password-1"
  ssh_public_keys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0ZXN0a2V5 acc@test"
  tags            = ["acc"]
  on_boot         = true
  startup         = { order = 3, up = 10 }
  features = {
    nesting = true
  }
  rootfs = {
    storage = "local-lvm"
    size    = %d
  }
  mount_points = {
%s
  }
  network = {
%s
  }
}
`, memory, rootfs, mounts, nics)
}

const (
	mp0  = `    mp0 = { storage = "local-lvm", size = 2, path = "/srv/data" }`
	net0 = `    net0 = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }`
	net1 = `    net1 = { name = "eth1", bridge = "vmbr0", ip = "10.9.0.5/24", tag = 9 }`
)

// Create, import, then change in place: more memory, a bigger root file
// system, a second NIC; the first NIC keeps its MAC. Every apply is
// followed by an empty plan.
func TestAccContainer_lifecycle(t *testing.T) {
	sameMAC := statecheck.CompareValue(compare.ValuesSame())
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckTemplates(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkContainersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: containerConfig(512, 4, mp0, net0),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("startup"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"order": knownvalue.Int64Exact(3), "up": knownvalue.Int64Exact(10), "down": knownvalue.Null()})),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("rootfs").AtMapKey("volume"),
						knownvalue.StringRegexp(regexp.MustCompile(`^local-lvm:vm-\d+-disk-\d+$`))),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("password"), knownvalue.Null()),
					sameMAC.AddStateValue(ctAddr, tfjsonpath.New("network").AtMapKey("net0").AtMapKey("mac")),
				},
			},
			{
				ResourceName:            ctAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "ostemplate"},
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources[ctAddr].Primary.Attributes["vmid"], nil
				},
			},
			{
				Config: containerConfig(1024, 6, mp0, net0+"\n"+net1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(ctAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("memory"), knownvalue.Int64Exact(1024)),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("rootfs").AtMapKey("size"), knownvalue.Int64Exact(6)),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("network"), knownvalue.MapSizeExact(2)),
					sameMAC.AddStateValue(ctAddr, tfjsonpath.New("network").AtMapKey("net0").AtMapKey("mac")),
				},
			},
		},
	})
}

func TestAccContainer_badInput(t *testing.T) {
	tests := []struct {
		name, mounts, nics string
		want               *regexp.Regexp
	}{
		{"mount slot", `    mp256 = { storage = "local-lvm", size = 2, path = "/x" }`, net0, regexp.MustCompile(`(?s)mount point slot`)},
		{"nic slot", mp0, `    eth0 = { name = "eth0", bridge = "vmbr0" }`, regexp.MustCompile(`(?s)NIC slot`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, containerConfig(512, 4, tt.mounts, tt.nics), tt.want)
		})
	}
}

// A hostname that is not a DNS name and tags PVE's pve-tag format refuses
// are refused at plan time, naming the attribute.
func TestAccContainer_badHostnameAndTags(t *testing.T) {
	for _, tt := range []struct {
		name, attrs string
		want        *regexp.Regexp
	}{
		{"hostname with an underscore", `hostname = "web_1"`, regexp.MustCompile(`(?s)hostname.*"web_1" is not a DNS name`)},
		{"hostname with a trailing dot", `hostname = "web."`, regexp.MustCompile(`(?s)hostname.*is not a DNS name`)},
		{"tag with a slash", `tags = ["a/b"]`, regexp.MustCompile(`(?s)tags.*invalid tag "a/b"`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, fmt.Sprintf(`
resource "pve_container" "test" {
  node       = "pve1"
  ostemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
  started    = false
  %s
}
`, tt.attrs), tt.want)
		})
	}
}

func TestAccContainer_shrinkRootfs(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckTemplates(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkContainersDestroyed(t),
		Steps: []resource.TestStep{
			{Config: containerConfig(512, 4, mp0, net0)},
			{
				Config:      containerConfig(512, 2, mp0, net0),
				ExpectError: regexp.MustCompile(`(?s)Volumes Only Grow.*rootfs is 4 GiB`),
			},
		},
	})
}

func TestAccContainers_dataSource(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckTemplates(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkContainersDestroyed(t),
		Steps: []resource.TestStep{{
			Config: containerConfig(512, 4, mp0, net0) + `
data "pve_containers" "acc" {
  tag        = "acc"
  name_regex = "^acc-"
  depends_on = [pve_container.test]
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_containers.acc", tfjsonpath.New("containers"), knownvalue.ListSizeExact(1)),
				statecheck.CompareValuePairs("data.pve_containers.acc", tfjsonpath.New("containers").AtSliceIndex(0).AtMapKey("vmid"),
					ctAddr, tfjsonpath.New("vmid"), compare.ValuesSame()),
			},
		}},
	})
}

func TestAccContainerDataSource(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckTemplates(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkContainersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: containerConfig(768, 4, mp0, net0) + `
data "pve_container" "one" {
  vmid = pve_container.test.vmid
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.pve_container.one", tfjsonpath.New("hostname"), knownvalue.StringExact("acc-ct")),
					statecheck.ExpectKnownValue("data.pve_container.one", tfjsonpath.New("memory"), knownvalue.Int64Exact(768)),
					statecheck.ExpectKnownValue("data.pve_container.one", tfjsonpath.New("unprivileged"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.pve_container.one", tfjsonpath.New("os_type"), knownvalue.StringExact("debian")),
				},
			},
			{
				Config:      `data "pve_container" "missing" { vmid = 999998 }`,
				ExpectError: regexp.MustCompile(`(?s)Container Not Found.*999998`),
			},
			{
				// A container's ID asked of the VM data source.
				Config: containerConfig(768, 4, mp0, net0) + `
data "pve_vm" "wrong_kind" {
  vmid = pve_container.test.vmid
}
`,
				ExpectError: regexp.MustCompile(`(?s)VM Not Found.*is a container, not a VM`),
			},
		},
	})
}

// Left unset, the host name is PVE's (CT<vmid>); a description comes back
// as it was set. Both plan clean after apply.
func TestAccContainer_defaults(t *testing.T) {
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckTemplates(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkContainersDestroyed(t),
		Steps: []resource.TestStep{{
			Config: `
resource "pve_container" "test" {
  node        = "pve3"
  ostemplate  = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
  description = "made by the acceptance tests"
  started     = false
  features = {
    nesting = true
  }
  rootfs = {
    storage = "local-lvm"
    size    = 2
  }
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("hostname"), knownvalue.StringRegexp(regexp.MustCompile(`^CT\d+$`))),
				statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("description"), knownvalue.StringExact("made by the acceptance tests")),
			},
		}},
	})
}

// A clone of a container template, into a pool, with its root file system
// grown and a NIC added; what the configuration leaves unset (memory, the
// template's NIC) is the template's. Import matches; a missing rootfs
// without a clone is a plan-time error.
func TestAccContainer_clone(t *testing.T) {
	const template = 9200
	acctest.Test(t, resource.TestCase{
		PreCheck: func() {
			preCheckTemplates(t)
			c := acctest.PVEClient(t)
			ctx := context.Background()
			if _, err := c.CreateGuest(ctx, pve.LXC, "pve2", url.Values{"vmid": {strconv.Itoa(template)}, "hostname": {"ct-tmpl"},
				"ostemplate": {"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}, "rootfs": {"local-lvm:2"},
				"memory": {"768"}, "net0": {"name=eth0,bridge=vmbr0,ip=dhcp"}}); err != nil {
				t.Fatal(err)
			}
			if err := c.Post(ctx, fmt.Sprintf("/nodes/pve2/lxc/%d/template", template), nil, nil); err != nil {
				t.Fatal(err)
			}
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkContainersDestroyed(t),
		Steps: []resource.TestStep{
			{
				Config: `
resource "pve_container" "test" {
  node       = "pve1"
  ostemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
}`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Missing Root File System`),
			},
			{
				Config: fmt.Sprintf(`
resource "pve_pool" "ct" { pool_id = "acc-ct" }

resource "pve_container" "test" {
  node     = "pve2"
  hostname = "ct-copy"
  pool     = pve_pool.ct.pool_id
  clone = {
    source_vmid = %d
  }
  rootfs = {
    storage = "local-lvm"
    size    = 4
  }
  network = {
    net0 = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    net1 = { name = "eth1", bridge = "vmbr0", ip = "10.9.0.7/24" }
  }
}
`, template),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("hostname"), knownvalue.StringExact("ct-copy")),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("pool"), knownvalue.StringExact("acc-ct")),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("memory"), knownvalue.Int64Exact(768)),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("rootfs").AtMapKey("size"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("network"), knownvalue.MapSizeExact(2)),
					statecheck.ExpectKnownValue(ctAddr, tfjsonpath.New("started"), knownvalue.Bool(true)),
				},
			},
			{ResourceName: ctAddr, ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"clone"}},
		},
	})
}
