// A stand-in for the provider's binary in the release checker's tests: a Go
// program whose build information says how it was built.
package main

import (
	"fmt"
	"os"
)

var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println(version)
	}
}
