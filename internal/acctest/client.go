package acctest

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/hcilab/terraform-provider-pve/internal/pve"
	"github.com/hcilab/terraform-provider-pve/internal/testlab"
)

var (
	clientOnce sync.Once
	client     *pve.Client
	clientErr  error
)

// PVEClient is a client for the PVE the acceptance tests run against,
// configured from the same environment as the provider. Tests use it to
// check what really happened (CheckDestroy) and to change things out of
// band (a "disappears" test).
func PVEClient(t *testing.T) *pve.Client {
	t.Helper()
	clientOnce.Do(func() {
		insecure, _ := strconv.ParseBool(os.Getenv("PVE_INSECURE"))
		cfg := pve.Config{
			Endpoint:       os.Getenv("PVE_ENDPOINT"),
			APIToken:       os.Getenv("PVE_API_TOKEN"),
			Insecure:       insecure,
			CACertificate:  os.Getenv("PVE_CA_CERTIFICATE"),
			TLSFingerprint: os.Getenv("PVE_TLS_FINGERPRINT"),
		}
		if cfg.APIToken == "" {
			cfg.Username, cfg.Password = os.Getenv("PVE_USERNAME"), os.Getenv("PVE_PASSWORD")
		}
		client, clientErr = pve.New(context.Background(), cfg)
	})
	if clientErr != nil {
		t.Fatalf("acctest: connecting to PVE: %v", clientErr)
	}
	return client
}

// LabClient is a client for a lab a test started for itself (StartLab),
// with the lab's API token.
func LabClient(t *testing.T, lab *testlab.Lab) *pve.Client {
	t.Helper()
	c, err := pve.New(context.Background(), pve.Config{Endpoint: lab.Endpoint(), APIToken: lab.APIToken(),
		TLSFingerprint: lab.Fingerprint()})
	if err != nil {
		t.Fatalf("acctest: connecting to the lab: %v", err)
	}
	return c
}
