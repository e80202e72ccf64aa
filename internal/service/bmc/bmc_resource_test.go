package bmc_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
	"github.com/hcilab/terraform-provider-pve/internal/redfish"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
	"github.com/hcilab/terraform-provider-pve/internal/testlab/bmcsim"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}

const iso = "https://repo.example.com/iso/proxmox-ve_9.1-1.iso"

// provider is the provider block with the lab's BMC credentials and CA as
// the defaults of every BMC block.
func provider(lab *testlab.Lab) string {
	return fmt.Sprintf(`
provider "pve" {
  bmc {
    username       = %q
    password       = %q
    ca_certificate = <<-EOT
%s
EOT
  }
}
`, lab.BMCUsername(), lab.BMCPassword(), lab.CACertPEM())
}

// noSessions checks that every BMC session the provider opened was logged
// out.
func noSessions(lab *testlab.Lab) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, n := range lab.NodeNames() {
			if c := lab.BMC(n).SessionCount(); c != 0 {
				return fmt.Errorf("BMC of %s has %d open sessions, want 0", n, c)
			}
		}
		return nil
	}
}

// outOfBand acts on a BMC as someone else would, through the Redfish client.
func outOfBand(t *testing.T, lab *testlab.Lab, node string, fn func(s *redfish.Session) error) {
	t.Helper()
	c, err := redfish.New(redfish.Config{Endpoint: lab.BMCEndpoint(node), Username: lab.BMCUsername(), Password: lab.BMCPassword(),
		CACertificate: lab.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func powerConfig(lab *testlab.Lab, node, state string) string {
	return provider(lab) + fmt.Sprintf(`
resource "pve_bmc_power" "test" {
  bmc        = { endpoint = %q }
  state      = %q
  off_method = "GracefulShutdown"
}
`, lab.BMCEndpoint(node), state)
}

// Off (gracefully; the PVE node goes offline), then switched on out of band
// (a diff), then on again by the provider; imported; every session logged
// out.
func TestAccBMCPower_basic(t *testing.T) {
	lab := acctest.Lab()
	const node = "pve3"
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: powerConfig(lab, node, "Off"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_bmc_power.test", tfjsonpath.New("power_state"), knownvalue.StringExact("Off")),
					statecheck.ExpectKnownValue("pve_bmc_power.test", tfjsonpath.New("system_id"), knownvalue.StringExact(lab.BMC(node).SystemID())),
				},
				Check: resource.ComposeTestCheckFunc(noSessions(lab), func(*terraform.State) error {
					if lab.NodeRunning(node) {
						return fmt.Errorf("PVE node %s still runs with its server powered off", node)
					}
					return nil
				}),
			},
			{
				PreConfig: func() {
					outOfBand(t, lab, node, func(s *redfish.Session) error {
						sys, err := s.System("")
						if err != nil {
							return err
						}
						if err := s.Reset(sys, "On"); err != nil {
							return err
						}
						_, err = s.WaitPower(context.Background(), sys.ID, "On")
						return err
					})
				},
				Config:             powerConfig(lab, node, "Off"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: powerConfig(lab, node, "On"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_bmc_power.test", tfjsonpath.New("power_state"), knownvalue.StringExact("On")),
				},
				Check: noSessions(lab),
			},
			{
				ResourceName:            "pve_bmc_power.test",
				ImportState:             true,
				ImportStateId:           lab.BMCEndpoint(node),
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"off_method", "bmc"},
			},
		},
	})
}

func mediaConfig(lab *testlab.Lab, node, image string) string {
	return provider(lab) + fmt.Sprintf(`
resource "pve_bmc_virtual_media" "test" {
  bmc             = { endpoint = %q }
  image           = %q
  write_protected = true
}
`, lab.BMCEndpoint(node), image)
}

func checkMedia(lab *testlab.Lab, node, image string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, m := range lab.BMC(node).VirtualMedia() {
			if m.ID == "CD1" {
				if m.Image != image || m.Inserted != (image != "") {
					return fmt.Errorf("CD1 holds %q (inserted %v), want %q", m.Image, m.Inserted, image)
				}
				return nil
			}
		}
		return fmt.Errorf("no CD1 slot")
	}
}

// Insert, change (eject then insert), an eject out of band shows as a
// diff, destroy ejects; for every vendor variation of the lab.
func TestAccBMCVirtualMedia_variants(t *testing.T) {
	lab := acctest.Lab()
	const node = "pve2"
	variants := map[string]bmcsim.Variant{
		"dmtf (actions under the system)":  {},
		"media under the manager (iDRAC)":  {VirtualMediaUnderManager: true},
		"patch only (XCC, old Supermicro)": {PatchVirtualMedia: true, VirtualMediaUnderManager: true},
		"task monitors (iLO)":              {TaskActions: true},
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			lab.BMC(node).SetVariant(v)
			t.Cleanup(func() { lab.BMC(node).SetVariant(bmcsim.Variant{}) })
			acctest.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				CheckDestroy:             checkMedia(lab, node, ""),
				Steps: []resource.TestStep{
					{
						Config: mediaConfig(lab, node, iso),
						ConfigStateChecks: []statecheck.StateCheck{
							statecheck.ExpectKnownValue("pve_bmc_virtual_media.test", tfjsonpath.New("slot_id"), knownvalue.StringExact("CD1")),
							statecheck.ExpectKnownValue("pve_bmc_virtual_media.test", tfjsonpath.New("inserted"), knownvalue.Bool(true)),
						},
						Check: resource.ComposeTestCheckFunc(checkMedia(lab, node, iso), noSessions(lab)),
					},
					{
						Config: mediaConfig(lab, node, "https://repo.example.com/iso/proxmox-ve_9.0-1.iso"),
						ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction("pve_bmc_virtual_media.test", plancheck.ResourceActionUpdate),
						}},
						Check: resource.ComposeTestCheckFunc(checkMedia(lab, node, "https://repo.example.com/iso/proxmox-ve_9.0-1.iso"), noSessions(lab)),
					},
					{
						PreConfig: func() {
							outOfBand(t, lab, node, func(s *redfish.Session) error {
								sys, err := s.System("")
								if err != nil {
									return err
								}
								slots, err := s.MediaSlots(sys)
								if err != nil {
									return err
								}
								slot, err := redfish.PickSlot(slots, "CD1", "")
								if err != nil {
									return err
								}
								return s.EjectMedia(slot)
							})
						},
						Config:             mediaConfig(lab, node, "https://repo.example.com/iso/proxmox-ve_9.0-1.iso"),
						PlanOnly:           true,
						ExpectNonEmptyPlan: true,
					},
					{
						Config: mediaConfig(lab, node, iso),
						Check:  resource.ComposeTestCheckFunc(checkMedia(lab, node, iso), noSessions(lab)),
					},
				},
			})
		})
	}
}

// Boot once from the CD with the installer, now: the server restarts into
// it, the override is used up, and the plan after it stays empty.
func TestAccBMCBootOverride_onceFromCD(t *testing.T) {
	lab := acctest.Lab()
	const node = "pve1"
	start := time.Now()
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: provider(lab) + fmt.Sprintf(`
resource "pve_bmc_virtual_media" "installer" {
  bmc   = { endpoint = %[1]q }
  image = %[2]q
}

resource "pve_bmc_boot_override" "test" {
  bmc         = { endpoint = %[1]q }
  target      = "Cd"
  enabled     = "Once"
  mode        = "UEFI"
  reset_after = "ForceRestart"
  depends_on  = [pve_bmc_virtual_media.installer]
}
`, lab.BMCEndpoint(node), iso),
			Check: resource.ComposeTestCheckFunc(noSessions(lab), func(*terraform.State) error {
				deadline := time.Now().Add(10 * time.Second)
				for {
					b := lab.BMC(node).LastBoot()
					if b.At.After(start) && b.Target == "Cd" && b.Image == iso {
						return nil
					}
					if time.Now().After(deadline) {
						return fmt.Errorf("the server did not boot from the installer CD: last boot %+v", b)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}),
		}},
	})
}

// The system's facts: make, serial, the NICs' MACs, the BMC's firmware.
func TestAccBMCSystemDataSource(t *testing.T) {
	lab := acctest.Lab()
	b := lab.BMC("pve1")
	// The node's NICs eno1..eno4 come first; the BMC also lists its
	// host interface.
	macs := map[int]knownvalue.Check{}
	for i, m := range b.MACAddresses() {
		macs[i] = knownvalue.StringExact(m)
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: provider(lab) + fmt.Sprintf(`
data "pve_bmc_system" "test" {
  bmc = { endpoint = %q }
}
`, b.Endpoint()),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_bmc_system.test", tfjsonpath.New("serial_number"), knownvalue.StringExact(b.SerialNumber())),
				statecheck.ExpectKnownValue("data.pve_bmc_system.test", tfjsonpath.New("system_id"), knownvalue.StringExact(b.SystemID())),
				statecheck.ExpectKnownValue("data.pve_bmc_system.test", tfjsonpath.New("mac_addresses"), knownvalue.ListPartial(macs)),
				statecheck.ExpectKnownValue("data.pve_bmc_system.test", tfjsonpath.New("nics"), knownvalue.ListSizeExact(len(b.MACAddresses())+1)),
				statecheck.ExpectKnownValue("data.pve_bmc_system.test", tfjsonpath.New("bmc_firmware_version"), knownvalue.NotNull()),
			},
			Check: noSessions(lab),
		}},
	})
}

// A wrong password and an untrusted certificate fail with errors that say
// so; insecure = true really skips the check.
func TestAccBMC_credentialsAndTLS(t *testing.T) {
	lab := acctest.Lab()
	ep := lab.BMCEndpoint("pve1")
	acctest.ExpectPlanError(t, provider(lab)+fmt.Sprintf(`
data "pve_bmc_system" "test" {
  bmc = { endpoint = %q, password = "wrong" }
}
`, ep), regexp.MustCompile(`(?s)rejected the user name or\s+password`))
	acctest.ExpectPlanError(t, fmt.Sprintf(`
data "pve_bmc_system" "test" {
  bmc = { endpoint = %q, username = %q, password = %q }
}
`, ep, lab.BMCUsername(), lab.BMCPassword()), regexp.MustCompile(`(?s)untrusted certificate.*ca_certificate`))
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
data "pve_bmc_system" "test" {
  bmc = { endpoint = %q, username = %q, password = %q, insecure = true }
}
`, ep, lab.BMCUsername(), lab.BMCPassword()),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pve_bmc_system.test", tfjsonpath.New("power_state"), knownvalue.NotNull()),
			},
			Check: noSessions(lab),
		}},
	})
}

// A reset type the BMC does not list is refused at apply with the ones it
// allows; a BMC that answers 503 + Retry-After while the host boots is
// waited for (and the session still logged out).
func TestAccBMCPower_resetTypesAndBusyBMC(t *testing.T) {
	lab := acctest.Lab()
	const node = "pve1"
	lab.BMC(node).SetVariant(bmcsim.Variant{BusyAfterPowerOn: 2 * time.Second})
	t.Cleanup(func() { lab.BMC(node).SetVariant(bmcsim.Variant{}) })
	var busyBefore int
	config := func(state, onMethod string) string {
		return provider(lab) + fmt.Sprintf(`
resource "pve_bmc_power" "test" {
  bmc        = { endpoint = %q }
  state      = %q
  on_method  = %q
  off_method = "ForceOff"
}
`, lab.BMCEndpoint(node), state, onMethod)
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("Off", "On"), Check: noSessions(lab)},
			{
				Config:      config("On", "ForceOn"),
				ExpectError: regexp.MustCompile(`does\s+not\s+allow\s+the\s+reset\s+type\s+ForceOn;\s+it\s+allows\s+On,\s+ForceOff`),
			},
			{
				PreConfig: func() { busyBefore = lab.BMC(node).BusyAnswers() },
				Config:    config("On", "On"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_bmc_power.test", tfjsonpath.New("power_state"), knownvalue.StringExact("On")),
				},
				Check: resource.ComposeTestCheckFunc(noSessions(lab), func(*terraform.State) error {
					// The wait for On met the busy BMC: its 503s were retried.
					if lab.BMC(node).BusyAnswers() == busyBefore {
						return fmt.Errorf("the BMC never answered 503 while busy: the test did not exercise the retries")
					}
					return nil
				}),
			},
		},
	})
}

// The image server's credentials are write-only: sent with the insert
// (the BMC reports the user name), never in the state; a new password alone
// plans nothing, a new image_credentials_version inserts again.
func TestAccBMCVirtualMedia_credentials(t *testing.T) {
	lab := acctest.Lab()
	const node = "pve3"
	config := func(password, extra string) string {
		return provider(lab) + fmt.Sprintf(`
resource "pve_bmc_virtual_media" "test" {
  bmc            = { endpoint = %q }
  image          = %q
  image_username = "isouser"
  image_password = %q
  %s
}
`, lab.BMCEndpoint(node), iso, password, extra)
	}
	userName := func(*terraform.State) error {
		for _, m := range lab.BMC(node).VirtualMedia() {
			if m.ID == "CD1" && m.UserName != "isouser" {
				return fmt.Errorf("CD1 was inserted with user %q, want isouser", m.UserName)
			}
		}
		return nil
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkMedia(lab, node, ""),
		Steps: []resource.TestStep{
			{
				Config: config("first-Passw0rd", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pve_bmc_virtual_media.test", tfjsonpath.New("image_username"), knownvalue.Null()),
					statecheck.ExpectKnownValue("pve_bmc_virtual_media.test", tfjsonpath.New("image_password"), knownvalue.Null()),
				},
				Check: resource.ComposeTestCheckFunc(checkMedia(lab, node, iso), userName),
			},
			{Config: config("second-Passw0rd", ""), PlanOnly: true},
			{
				Config: config("second-Passw0rd", "image_credentials_version = 2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pve_bmc_virtual_media.test", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(checkMedia(lab, node, iso), userName),
			},
		},
	})
}
