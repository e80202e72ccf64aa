package lxc_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

// A clone with a root password or SSH keys is refused at plan time: PVE
// sets them only when it creates a container from a template, so the clone
// would keep its source's while the configuration says otherwise.
func TestAccContainer_cloneWithPassword(t *testing.T) {
	for _, attr := range []string{`password = "n3w-Passw0rd"`, `ssh_public_keys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0ZXN0a2V5 acc@test"`} {
		acctest.ExpectPlanError(t, `
resource "pve_container" "copy" {
  node  = "pve2"
  clone = { source_vmid = 9999 }
  `+attr+`
}
`, regexp.MustCompile(`(?s)Not Applied to a Clone.*keeps its source's`))
	}
}

// Moving rootfs or a mount point to another storage is refused at plan
// time (before, the rest applied and the apply ended "inconsistent result").
func TestAccContainer_moveVolumeRefused(t *testing.T) {
	moved := strings.Replace(containerConfig(512, 4, mp0, net0), "storage = \"local-lvm\"\n    size    = 4", "storage = \"local\"\n    size    = 4", 1)
	if moved == containerConfig(512, 4, mp0, net0) {
		t.Fatal("the test's configuration did not change: fix the replacement")
	}
	acctest.Test(t, resource.TestCase{
		PreCheck:                 func() { preCheckTemplates(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkContainersDestroyed(t),
		Steps: []resource.TestStep{
			{Config: containerConfig(512, 4, mp0, net0)},
			{
				Config:      moved,
				ExpectError: regexp.MustCompile(`(?s)Moving Volumes Not Supported.*rootfs is on local-lvm; moving it to local`),
			},
		},
	})
}
