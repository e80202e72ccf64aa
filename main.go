// Command terraform-provider-pve serves the pve Terraform provider over
// plugin protocol 6.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/hcilab/terraform-provider-pve/internal/provider"
)

// version is set at build time by -ldflags "-X main.version=...".
var version = "dev"

// Docs are generated from the provider's schema, templates/ and examples/.
//go:generate go tool tfplugindocs generate --provider-name pve

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/hcilab/pve",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err)
	}
}
