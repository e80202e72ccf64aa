package release

import (
	"os"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/acctest"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Run(m))
}
