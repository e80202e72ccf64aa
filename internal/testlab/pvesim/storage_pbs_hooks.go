package pvesim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// The hooks of pve-storage's PBS plugin (PVE::Storage::PBSPlugin,
// PBSPlugin.pm) that run when a PBS storage is added, updated or deleted:
// the password, the encryption key and the master key below
// /etc/pve/priv/storage. Connecting to the server is in storage_pbs.go.

// --- the PBS plugin's hooks (PBSPlugin.pm) -------------------------------

func privPath(id, ext string) string { return "/etc/pve/priv/storage/" + id + "." + ext }

// storageOnAddHook is on_add_hook: the password to <id>.pw, the encryption
// key (generated for "autogen") to <id>.enc with its fingerprint in the
// config, the master key to <id>.master.pem. It returns the partial
// configuration the API hands back (the encryption key).
func (p *PVE) storageOnAddHook(sec *storageSection, sensitive map[string]*string) (map[string]any, error) {
	if sec.typ != "pbs" {
		return nil, nil
	}
	res := map[string]any{}
	if pw := sensitive["password"]; pw != nil {
		p.setPrivFile(privPath(sec.id, "pw"), *pw+"\n")
	} else {
		p.deletePrivFile(privPath(sec.id, "pw"))
	}
	if key := sensitive["encryption-key"]; key != nil {
		if err := p.setEncryptionKey(sec, *key, res); err != nil {
			return nil, err
		}
	} else {
		p.deletePrivFile(privPath(sec.id, "enc"))
	}
	if mk := sensitive["master-pubkey"]; mk != nil {
		if sec.opts["encryption-key"] == "" {
			return nil, fmt.Errorf("'master-pubkey' can only be used together with 'encryption-key'")
		}
		dec, _ := base64.StdEncoding.DecodeString(*mk)
		p.setPrivFile(privPath(sec.id, "master.pem"), string(dec)+"\n")
		sec.opts["master-pubkey"] = "1"
	} else {
		p.deletePrivFile(privPath(sec.id, "master.pem"))
	}
	return res, nil
}

// storageOnUpdateHook is on_update_hook: only the secrets that are given
// (or deleted) change.
func (p *PVE) storageOnUpdateHook(sec *storageSection, sensitive map[string]*string) (map[string]any, error) {
	if sec.typ != "pbs" {
		return nil, nil
	}
	res := map[string]any{}
	if pw, ok := sensitive["password"]; ok {
		if pw != nil {
			p.setPrivFile(privPath(sec.id, "pw"), *pw+"\n")
		} else {
			p.deletePrivFile(privPath(sec.id, "pw"))
		}
	}
	if key, ok := sensitive["encryption-key"]; ok {
		if key != nil {
			if err := p.setEncryptionKey(sec, *key, res); err != nil {
				return nil, err
			}
		} else {
			p.deletePrivFile(privPath(sec.id, "enc"))
			delete(sec.opts, "encryption-key")
		}
	}
	if mk, ok := sensitive["master-pubkey"]; ok {
		if mk != nil {
			dec, _ := base64.StdEncoding.DecodeString(*mk)
			p.setPrivFile(privPath(sec.id, "master.pem"), string(dec)+"\n")
			sec.opts["master-pubkey"] = "1"
		} else {
			p.deletePrivFile(privPath(sec.id, "master.pem"))
			delete(sec.opts, "master-pubkey")
		}
	}
	return res, nil
}

// setEncryptionKey stores an encryption key: "autogen" makes one the way
// "proxmox-backup-client key create --kdf none" does; anything else must be
// such a JSON key file.
func (p *PVE) setEncryptionKey(sec *storageSection, key string, res map[string]any) error {
	if key == "autogen" {
		key = newPBSKeyFile(time.Now())
	} else {
		var k map[string]any
		if err := json.Unmarshal([]byte(key), &k); err != nil || k["data"] == nil {
			return fmt.Errorf("Value does not seems like a valid, JSON formatted encryption key!")
		}
	}
	var k map[string]any
	_ = json.Unmarshal([]byte(key), &k)
	p.setPrivFile(privPath(sec.id, "enc"), key+"\n")
	res["encryption-key"] = key
	if fp, ok := k["fingerprint"].(string); ok && fp != "" {
		sec.opts["encryption-key"] = fp
	} else {
		sec.opts["encryption-key"] = "1"
	}
	return nil
}

// newPBSKeyFile is a key file as "proxmox-backup-client key create --kdf
// none" writes it (KeyConfig, pretty JSON). Guessed: the fingerprint is
// derived from the key with SHA-256 here, PBS derives it through the
// key's cipher; both print as lower-case hex pairs.
func newPBSKeyFile(now time.Time) string {
	key := sim.RandomBytes(32)
	sum := sha256.Sum256(key)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	created := now.Format(pbsTimeFormat)
	return fmt.Sprintf("{\n  \"kdf\": null,\n  \"created\": %q,\n  \"modified\": %q,\n  \"data\": %q,\n  \"fingerprint\": %q\n}",
		created, created, base64.StdEncoding.EncodeToString(key), strings.Join(parts, ":"))
}

// storageOnDeleteHook is on_delete_hook: the secrets go.
func (p *PVE) storageOnDeleteHook(sec *storageSection) {
	if sec.typ != "pbs" {
		return
	}
	for _, ext := range []string{"pw", "enc", "master.pem"} {
		p.deletePrivFile(privPath(sec.id, ext))
	}
}
