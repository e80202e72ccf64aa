package acctest

import (
	"strings"

	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

// LabWrites is the lab's request log (testlab.Lab.RequestLog) without the
// reads: the writes PVE received, in the order it received them, each as
// "METHOD /path/template".
func LabWrites(lab *testlab.Lab) []string {
	var out []string
	for _, key := range lab.RequestLog() {
		if !strings.HasPrefix(key, "GET ") {
			out = append(out, key)
		}
	}
	return out
}
