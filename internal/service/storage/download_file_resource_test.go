package storage_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/mirror"
)

const dlAddr = "pve_download_file.test"

// downloadConfig downloads a file of the lab's download server to local
// on node; extra is more attributes.
func downloadConfig(t *testing.T, node, name, content, extra string) string {
	return fmt.Sprintf(`
resource "pve_download_file" "test" {
  node    = %q
  storage = "local"
  content = %q
  url     = %q
  %s
}
`, node, content, acctest.FileURL(t, name), extra)
}

func checksum(algorithm, sum string) string {
	return fmt.Sprintf("checksum_algorithm = %q\n  checksum = %q", algorithm, sum)
}

// checkFilesGone checks that no file of the test is left on the nodes.
func checkFilesGone(t *testing.T) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "pve_download_file" {
				continue
			}
			a := rs.Primary.Attributes
			if _, err := acctest.PVEClient(t).Volume(context.Background(), a["node"], a["storage"], a["id"]); !errors.Is(err, pve.ErrNotFound) {
				return fmt.Errorf("%s on %s after destroy: %v", a["id"], a["node"], err)
			}
		}
		return nil
	}
}

// Download with a checksum, read the volume's size back, list it, import
// it; a new checksum downloads again (replace); destroy deletes the file.
func TestAccDownloadFile_basic(t *testing.T) {
	iso, _ := mirror.Lookup(mirror.DebianISO)
	volid := "local:iso/" + iso.Name()
	sameID := statecheck.CompareValue(compare.ValuesSame())
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkFilesGone(t),
		Steps: []resource.TestStep{
			{
				Config: downloadConfig(t, "pve1", iso.Name(), "iso", checksum("sha256", iso.SHA256)) + `
data "pve_storage_content" "isos" {
  node       = "pve1"
  storage    = "local"
  content    = "iso"
  depends_on = [pve_download_file.test]
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// the volume ID is known at plan time, for VMs that use it
					plancheck.ExpectKnownValue(dlAddr, tfjsonpath.New("id"), knownvalue.StringExact(volid)),
					plancheck.ExpectKnownValue(dlAddr, tfjsonpath.New("file_name"), knownvalue.StringExact(iso.Name())),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dlAddr, tfjsonpath.New("id"), knownvalue.StringExact(volid)),
					statecheck.ExpectKnownValue(dlAddr, tfjsonpath.New("size"), knownvalue.Int64Exact(iso.Size)),
					sameID.AddStateValue(dlAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue("data.pve_storage_content.isos", tfjsonpath.New("volumes"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"volid": knownvalue.StringExact(volid), "content": knownvalue.StringExact("iso"),
							"format": knownvalue.StringExact("iso"), "size": knownvalue.Int64Exact(iso.Size), "vmid": knownvalue.Null(),
						}),
					})),
				},
			},
			{
				ResourceName:            dlAddr,
				ImportState:             true,
				ImportStateId:           "pve1/" + volid,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"url", "checksum", "checksum_algorithm", "timeouts"},
			},
			{
				Config: downloadConfig(t, "pve1", iso.Name(), "iso", checksum("sha512", iso.SHA512)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(dlAddr, plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(dlAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(dlAddr, tfjsonpath.New("size"), knownvalue.Int64Exact(iso.Size)),
				},
			},
		},
	})
}

// A wrong checksum fails the apply with PVE's message and leaves neither a
// file nor a resource.
func TestAccDownloadFile_badChecksum(t *testing.T) {
	tmpl, _ := mirror.Lookup(mirror.UbuntuTemplate)
	bad := strings.Repeat("ab", 32)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkFilesGone(t),
		Steps: []resource.TestStep{
			{
				Config: downloadConfig(t, "pve2", tmpl.Name(), "vztmpl", checksum("sha256", bad)),
				ExpectError: regexp.MustCompile(fmt.Sprintf(`(?s)Unable to Download File.*\(download\) failed: checksum mismatch: got\s+'%s'\s+!=\s+expect\s+'%s'`,
					tmpl.SHA256, bad)),
			},
			{
				// nothing was left: the right checksum downloads it
				Config: downloadConfig(t, "pve2", tmpl.Name(), "vztmpl", checksum("sha256", tmpl.SHA256)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(dlAddr, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dlAddr, tfjsonpath.New("id"), knownvalue.StringExact("local:vztmpl/"+tmpl.Name())),
				},
			},
		},
	})
}

// A file of the same name that is already there, not managed here: PVE
// refuses to overwrite it, unless overwrite deletes it first.
func TestAccDownloadFile_overwrite(t *testing.T) {
	iso, _ := mirror.Lookup(mirror.ProxmoxISO)
	acctest.Test(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			acctest.EnsureFile(t, acctest.PVEClient(t), "pve3", iso.Name())
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkFilesGone(t),
		Steps: []resource.TestStep{
			{
				Config:      downloadConfig(t, "pve3", iso.Name(), "iso", ""),
				ExpectError: regexp.MustCompile(`(?s)refusing to override existing file\s+'/var/lib/vz/template/iso/` + regexp.QuoteMeta(iso.Name()) + `'`),
			},
			{
				Config: downloadConfig(t, "pve3", iso.Name(), "iso", "overwrite = true"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dlAddr, tfjsonpath.New("size"), knownvalue.Int64Exact(iso.Size)),
				},
			},
		},
	})
}

// Deleted out of band: the next plan downloads it again.
func TestAccDownloadFile_disappears(t *testing.T) {
	tmpl, _ := mirror.Lookup(mirror.DebianTemplate)
	volid := "local:vztmpl/" + tmpl.Name()
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkFilesGone(t),
		Steps: []resource.TestStep{
			{
				Config: downloadConfig(t, "pve3", tmpl.Name(), "vztmpl", checksum("sha512", tmpl.SHA512)),
				Check: func(*terraform.State) error {
					_, err := acctest.PVEClient(t).DeleteVolume(context.Background(), "pve3", "local", volid, pve.WaitOptions{})
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: downloadConfig(t, "pve3", tmpl.Name(), "vztmpl", checksum("sha512", tmpl.SHA512)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(dlAddr, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// Input PVE would refuse is refused at plan time.
func TestAccDownloadFile_badInput(t *testing.T) {
	iso := "https://example.com/iso/x.iso"
	cfg := func(attrs string) string {
		return fmt.Sprintf("resource \"pve_download_file\" \"test\" {\n  node = \"pve1\"\n  storage = \"local\"\n  %s\n}\n", attrs)
	}
	tests := []struct {
		name, attrs string
		want        *regexp.Regexp
	}{
		{"content", `content = "images"` + "\n  url = \"" + iso + `"`, regexp.MustCompile(`(?s)content.*value must be one of`)},
		{"extension", `content = "iso"` + "\n  url = \"" + iso + `"` + "\n  file_name = \"x.qcow2\"", regexp.MustCompile(`(?s)Invalid File Name.*wrong file extension`)},
		{"url name", `content = "vztmpl"` + "\n  url = \"" + iso + `"`, regexp.MustCompile(`(?s)Invalid File Name.*set file_name`)},
		{"normalized", `content = "iso"` + "\n  url = \"" + iso + `"` + "\n  file_name = \"my disk.iso\"", regexp.MustCompile(`(?s)PVE would store "my disk.iso" as\s+"my_disk.iso"`)},
		{"no name", `content = "iso"` + "\n  url = \"https://example.com/\"", regexp.MustCompile(`(?s)Missing File Name`)},
		{"scheme", `content = "iso"` + "\n  url = \"ftp://example.com/x.iso\"", regexp.MustCompile(`(?s)must be an http:// or https:// URL`)},
		{"checksum", `content = "iso"` + "\n  url = \"" + iso + `"` + "\n  checksum = \"abc\"\n  checksum_algorithm = \"sha256\"", regexp.MustCompile(`(?s)Invalid Checksum.*sha256 checksum is 64`)},
		{"checksum alone", `content = "iso"` + "\n  url = \"" + iso + `"` + "\n  checksum = \"abc\"", regexp.MustCompile(`(?s)checksum_algorithm`)},
		{"decompression", `content = "vztmpl"` + "\n  url = \"https://example.com/x.tar.zst\"\n  decompression_algorithm = \"gz\"", regexp.MustCompile(`(?s)PVE decompresses only ISO images`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acctest.ExpectPlanError(t, cfg(tt.attrs), tt.want)
		})
	}
}

// An existing file imported by an import block: setting the URL and the
// checksum in the configuration changes the state only (PVE keeps
// neither), it does not download the file again.
func TestAccDownloadFile_importBlock(t *testing.T) {
	iso, _ := mirror.Lookup(mirror.DebianISO)
	volid := "local:iso/" + iso.Name()
	acctest.Test(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			acctest.EnsureFile(t, acctest.PVEClient(t), "pve2", iso.Name())
		},
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkFilesGone(t),
		Steps: []resource.TestStep{{
			Config: downloadConfig(t, "pve2", iso.Name(), "iso", checksum("sha256", iso.SHA256)) + fmt.Sprintf(`
import {
  to = pve_download_file.test
  id = "pve2/%s"
}
`, volid),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(dlAddr, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(dlAddr, tfjsonpath.New("size"), knownvalue.Int64Exact(iso.Size)),
				statecheck.ExpectKnownValue(dlAddr, tfjsonpath.New("checksum"), knownvalue.StringExact(iso.SHA256)),
			},
		}},
	})
}

// A download that outlasts its create timeout is stopped: no file appears
// later that Terraform does not know of, and nothing is in the state.
func TestAccDownloadFile_timeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(20 * time.Second):
		}
		_, _ = w.Write([]byte("late"))
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: fmt.Sprintf(`
resource "pve_download_file" "test" {
  node     = "pve1"
  storage  = "local"
  content  = "iso"
  url      = "%s/slow.iso"
  timeouts = { create = "2s" }
}
`, slow.URL),
				ExpectError: regexp.MustCompile(`(?s)context deadline exceeded.*the download was stopped`),
			},
			{
				// the server answers now; the stopped download wrote nothing
				PreConfig:    func() { release <- struct{}{} },
				RefreshState: false,
				Config:       `# nothing`,
				Check: func(*terraform.State) error {
					time.Sleep(300 * time.Millisecond)
					if _, err := acctest.PVEClient(t).Volume(context.Background(), "pve1", "local", "local:iso/slow.iso"); !errors.Is(err, pve.ErrNotFound) {
						return fmt.Errorf("local:iso/slow.iso after the timeout: %v", err)
					}
					return nil
				},
			},
		},
	})
}

// A download PVE started whose answer was lost on the way (the connection
// reset after the request went out): the provider finds the 'download'
// task on the node and waits for it, rather than failing or sending the
// download again.
func TestAccDownloadFile_answerLost(t *testing.T) {
	lab := acctest.StartLab(t, testlab.Options{Nodes: 1})
	iso, _ := mirror.Lookup(mirror.DebianISO)
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { lab.Faults().LoseNextAnswers(1, http.MethodPost, "/download-url") },
				Config:    acctest.ProviderBlock(lab) + downloadConfig(t, "pve1", iso.Name(), "iso", checksum("sha256", iso.SHA256)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dlAddr, tfjsonpath.New("size"), knownvalue.Int64Exact(iso.Size)),
				},
				Check: func(*terraform.State) error {
					n := 0
					for _, w := range acctest.LabWrites(lab) {
						if strings.HasSuffix(w, "/download-url") {
							n++
						}
					}
					if n != 1 {
						return fmt.Errorf("%d download-url requests, want 1: %q", n, acctest.LabWrites(lab))
					}
					return nil
				},
			},
		},
	})
}
