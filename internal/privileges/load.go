package privileges

//go:generate go run ./gen

import (
	"os"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/labdata"
)

// LoadOfficial reads the official schemas from shared/api-schemas beside
// the repository. It returns labdata.ErrNotFound when they are not there
// (the lab's copies keep no permissions, so the table cannot be made
// without them).
func LoadOfficial() (Schemas, error) {
	var s Schemas
	for name, dst := range map[string]**Schema{labdata.PVE91: &s.PVE91, labdata.PVE84: &s.PVE84, labdata.PBS4: &s.PBS4} {
		path, err := labdata.Find("api-schemas/" + name)
		if err != nil {
			return s, err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return s, err
		}
		if *dst, err = ParseSchema(data); err != nil {
			return s, err
		}
	}
	return s, nil
}
