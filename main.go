// Command terraform-provider-pve serves the pve Terraform provider over
// plugin protocol 6.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/hcilab/terraform-provider-pve/internal/apiclient"
	"github.com/hcilab/terraform-provider-pve/internal/gcsettings"
	"github.com/hcilab/terraform-provider-pve/internal/profiling"
	"github.com/hcilab/terraform-provider-pve/internal/provider"
	"github.com/hcilab/terraform-provider-pve/internal/pve"
)

// version is set at build time by -ldflags "-X main.version=...".
var version = "dev"

// flushTimeout stays below the two seconds the CLI gives a provider to exit.
const flushTimeout = 1500 * time.Millisecond

// Docs are generated from the provider's schema, templates/ and examples/.
//go:generate go tool tfplugindocs generate --provider-name pve

func main() {
	var debug, printVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.BoolVar(&printVersion, "version", false, "print the provider's version and exit")
	flag.Parse()
	if printVersion {
		fmt.Println(version)
		return
	}
	if !debug {
		// The CLI started the provider: build no log line below the level
		// it shows (apiclient.AlignPluginLogLevels).
		apiclient.AlignPluginLogLevels("TF_LOG_PROVIDER_PVE")
	}

	gcsettings.Apply(os.Getenv) // less GC CPU for a little more RSS: see the package

	server, err := provider.ProtocolServer(version)()
	if err != nil {
		log.Fatal(err)
	}
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	stopProfiling := profiling.Start() // only with PVE_PROVIDER_PPROF_DIR set
	err = tf6server.Serve("registry.terraform.io/hcilab/pve", func() tfprotov6.ProviderServer { return server }, opts...)
	stopProfiling()
	if err != nil {
		log.Fatal(err)
	}
	// The CLI is done with the provider. Network edits staged at the very
	// end of an apply must still go live: start their reloads now (PVE runs
	// a reload to its end once it has started it).
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	pve.FlushLog = log.Printf
	pve.FlushNetworkReloads(ctx)
}
