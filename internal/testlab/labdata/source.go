package labdata

import (
	"errors"
	"fmt"
	"os"
)

// Source is where a server's schema comes from: a file (the official one,
// or one named by an option or the environment), else the lab's copy.
type Source struct {
	// Path is the schema file; "" for the lab's copy.
	Path string
	// Embedded is the lab's copy's name (PVE91, PVE84 or PBS4).
	Embedded string
}

// FindSchema chooses the schema of the file name (PVE91, PVE84 or PBS4):
// explicit (an option or env, "-" for none), else the official file beside
// the repository (Find), else the lab's copy. It returns ok=false for "-".
func FindSchema(explicit, name string) (Source, bool, error) {
	switch explicit {
	case "-":
		return Source{}, false, nil
	case "":
	default:
		return Source{Path: explicit}, true, nil
	}
	path, err := Find("api-schemas/" + name)
	switch {
	case errors.Is(err, ErrNotFound):
		return Source{Embedded: name}, true, nil
	case err != nil:
		return Source{}, false, fmt.Errorf("labdata: %w", err)
	}
	return Source{Path: path}, true, nil
}

// Read returns the schema's bytes.
func (src Source) Read() ([]byte, error) {
	if src.Path == "" {
		return Schema(src.Embedded)
	}
	return os.ReadFile(src.Path)
}

// Key names the source for caches and messages: the path, or
// "labdata:" and the name of the lab's copy.
func (src Source) Key() string {
	if src.Path == "" {
		return "labdata:" + src.Embedded
	}
	return src.Path
}
