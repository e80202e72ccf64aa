package pvesim

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"maps"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hcilab/terraform-provider-pve/internal/testlab/sim"
)

// Creating a container: POST /nodes/{node}/lxc as pve-container's
// PVE::API2::LXC create_vm serves it, with what it needs of the OS template
// (the distribution PVE::LXC::Setup detects) and of the SSH keys
// (PVE::Tools::validate_ssh_public_keys). This file and lxc_power.go,
// lxc_destroy.go, lxc_resize.go, lxc_clone.go and lxc_migrate.go are the
// container's life cycle: creating, destroying, powering, resizing,
// cloning, templating and migrating containers (PVE::API2::LXC's
// create_vm, destroy_vm, resize_vm, clone_vm, template, migrate_vm;
// PVE::API2::LXC::Status).

// --- templates -----------------------------------------------------------

// ctTemplate is what the lab knows of an OS template: the distribution
// PVE::LXC::Setup detects in it and the systemd version it ships.
type ctTemplate struct {
	ostype  string
	systemd int
}

// templateInfo derives the distribution from the template's name (the
// lab's templates are debian-12 with systemd 252 and ubuntu-24.04 with
// systemd 255, as the real task logs of these templates say).
func templateInfo(name string) ctTemplate {
	base := path.Base(name)
	switch {
	case strings.HasPrefix(base, "debian-12"):
		return ctTemplate{"debian", 252}
	case strings.HasPrefix(base, "debian-13"):
		return ctTemplate{"debian", 257}
	case strings.HasPrefix(base, "ubuntu-24.04"):
		return ctTemplate{"ubuntu", 255}
	case strings.HasPrefix(base, "ubuntu-22.04"):
		return ctTemplate{"ubuntu", 249}
	}
	distro, _, _ := strings.Cut(base, "-")
	switch distro {
	case "debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos":
		return ctTemplate{ostype: distro}
	case "rockylinux", "almalinux":
		return ctTemplate{ostype: "centos"}
	}
	return ctTemplate{ostype: "unmanaged"}
}

// --- ssh keys ------------------------------------------------------------

var sshKeyTypes = []string{"ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}

// validSSHKeyLine is what "ssh-keygen -l" accepts of an authorized_keys
// line: a key type followed by a blob that encodes the same type.
func validSSHKeyLine(line string) bool {
	fields := strings.Fields(line)
	for i := 0; i+1 < len(fields); i++ {
		if !slices.Contains(sshKeyTypes, fields[i]) {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(fields[i+1])
		if err != nil || len(blob) < 4 {
			return false
		}
		n := binary.BigEndian.Uint32(blob)
		return uint64(n)+4 <= uint64(len(blob)) && string(blob[4:4+n]) == fields[i]
	}
	return false
}

// validateSSHKeys is PVE::Tools::validate_ssh_public_keys.
func validateSSHKeys(keys string) error {
	for _, line := range strings.Split(keys, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !validSSHKeyLine(line) {
			return Errorf(http.StatusInternalServerError, "SSH public key validation error")
		}
	}
	return nil
}

// fingerprint is a random SHA256 key fingerprint as ssh-keygen prints it.
func fingerprint() string {
	return "SHA256:" + strings.TrimRight(base64.StdEncoding.EncodeToString(sim.RandomBytes(32)), "=")
}

// --- create --------------------------------------------------------------

// plainSizeRE is a rootfs or mount point given as a size only (GiB on the
// default storage).
var plainSizeRE = regexp.MustCompile(`^\d+(\.\d+)?$`)

// ctCreateControl are the create parameters that are not config keys.
var ctCreateControl = []string{"node", "vmid", "ostemplate", "password", "storage", "force", "restore", "unique", "pool",
	"ignore-unpack-errors", "ssh-public-keys", "bwlimit", "start", "ha-managed", "unprivileged"}

// createCT serves POST /nodes/{node}/lxc (create_vm).
func (p *PVE) createCT(r *Request) (any, error) {
	node := r.PathParams["node"]
	id, err := r.Int("vmid", 0)
	if err != nil {
		return nil, err
	}
	vmid := int(id)
	if r.Bool("restore", false) {
		p.logOnce("lxc:restore", "pvesim: restoring container backups is not implemented by the lab")
		return nil, &APIError{Status: http.StatusNotImplemented, Message: "restoring a backup archive is not implemented by the lab\n"}
	}
	unprivileged := r.Bool("unprivileged", true) // the default of create (not restore) is 1
	start := r.Bool("start", false)
	haManaged := r.Bool("ha-managed", false)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleLocked(time.Now())
	vmidUsed := func() error {
		if g, ok := p.guests[vmid]; ok {
			typ := "VM"
			if g.kind == "lxc" {
				typ = "CT"
			}
			return Errorf(http.StatusInternalServerError, "%s %d already exists on node '%s'", typ, vmid, g.node)
		}
		return nil
	}
	if err := vmidUsed(); err != nil { // check_vmid_unused
		return nil, err
	}
	if keys, ok := r.String("ssh-public-keys"); ok {
		if err := validateSSHKeys(keys); err != nil {
			return nil, err
		}
	}
	pool, hasPool := r.String("pool")
	if hasPool {
		if err := p.checkPoolExistLocked(pool); err != nil {
			return nil, err
		}
	}
	ostemplate, _ := r.String("ostemplate")
	storage, ok := r.String("storage")
	if !ok {
		storage = "local"
	}
	settings := qemuSettings(r, ctCreateControl...)
	if err := lxcCheckModifyPerm(r, nil, settings, nil, unprivileged); err != nil {
		return nil, err
	}
	if ostemplate == "-" {
		return nil, Errorf(http.StatusInternalServerError, "pipe requires cli environment")
	}
	if _, _, ok := parseVolumeID(ostemplate); ok { // check_volume_access
		vtype, err := p.parseVolname(ostemplate)
		if err != nil {
			return nil, err
		}
		if vtype != "vztmpl" {
			return nil, Errorf(http.StatusInternalServerError, "unable to use volume %s - content type needs to be 'vztmpl'", ostemplate)
		}
	} else if !isRoot(r) {
		// a die without newline: Perl adds where it died (not modelled)
		return nil, Errorf(http.StatusInternalServerError, "Only root can pass arbitrary filesystem paths.")
	}
	checkStorage := func(sid string) error { // $check_and_activate_storage
		st := p.storageDefOf(sid)
		if st == nil {
			return errNoStorage(sid)
		}
		if !st.hasContent("rootdir") {
			return ParamError(map[string]string{"storage": fmt.Sprintf("storage '%s' does not support container directories", sid)})
		}
		return nil
	}
	mpParam, noDisk := map[string]string{}, map[string]string{}
	storageOnly := true
	for k, v := range settings {
		switch {
		case isLXCVolumeKey(k):
			if plainSizeRE.MatchString(v) {
				v = storage + ":" + v
			}
			mpParam[k] = v
			storageOnly = false
		case unusedKeyRE.MatchString(k):
			// warn "ignoring 'unusedN', cannot create/restore with unused volume"
		default:
			noDisk[k] = v
		}
	}
	if _, ok := mpParam["rootfs"]; !storageOnly && !ok {
		return nil, Errorf(http.StatusInternalServerError, "mount points configured, but 'rootfs' not set - aborting")
	}
	for _, k := range lxcVolumeKeys(mpParam) {
		mp := parseMountPoint(mpParam[k])
		if mp.kind() != "volume" {
			if !isRoot(r) {
				return nil, Errorf(http.StatusInternalServerError, "Only root can pass arbitrary filesystem paths.")
			}
			continue
		}
		sid, _, ok := parseVolumeID(mp["volume"])
		if !ok {
			return nil, Errorf(http.StatusInternalServerError, "unable to parse volume ID '%s'", mp["volume"])
		}
		if err := checkStorage(sid); err != nil {
			return nil, err
		}
	}
	if storageOnly {
		if err := checkStorage(storage); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	work := &lxcCT{vmid: vmid, node: node, guestConfig: newGuestConfig(map[string]string{})}
	if _, err := p.lxcUpdatePctConfigLocked(work, noDisk, nil, nil, now, &worker{t: &task{exit: "OK"}}); err != nil {
		return nil, err
	}
	if unprivileged {
		work.conf["unprivileged"] = "1"
	}

	// create_and_lock_config: the config exists (with lock: create) when the call returns
	if err := p.waitGuestFlockLocked(vmid, true, false, createLockTimeout); err != nil {
		return nil, Errorf(http.StatusInternalServerError, "unable to create CT %d - %s", vmid, dieText(err))
	}
	if err := vmidUsed(); err != nil {
		return nil, Errorf(http.StatusInternalServerError, "unable to create CT %d - %s", vmid, dieText(err))
	}
	p.guests[vmid] = guestRef{node: node, kind: "lxc"}
	p.lxc.cts[vmid] = &lxcCT{vmid: vmid, node: node, guestConfig: newGuestConfig(map[string]string{"lock": "create"})}

	if storageOnly {
		mpParam["rootfs"] = storage + ":4" // "defaults to 4GB"
	}
	var final map[string]string
	var vollist []string
	begun := false
	var upid string
	begin := func(at time.Time, w *worker) {
		begun = true
		fail := func(err error) {
			w.fail(fmt.Sprintf("unable to create CT %d - %s", vmid, dieText(err)))
		}
		n := p.nodeLocked(node)
		conf := work.conf
		created, vols, err := p.lxcCreateDisksLocked(n, vmid, mpParam, at, w)
		if err != nil {
			fail(err)
			return
		}
		vollist = vols
		maps.Copy(conf, created)
		// restore_archive: abs_filesystem_path finds the template
		tmpl := n.storage.vols[ostemplate]
		if tmpl == nil || tmpl.content != "vztmpl" {
			for _, v := range vollist {
				w.log(n.storage.free(v))
			}
			vollist = nil
			fail(fmt.Errorf("can't find file '%s'\n", ostemplate))
			return
		}
		_, name, _ := parseVolumeID(ostemplate)
		extracted := tmpl.size * 41 / 10 / 10240 * 10240
		w.log(fmt.Sprintf("extracting archive '/var/lib/vz/template/cache/%s'", strings.TrimPrefix(name, "vztmpl/")),
			fmt.Sprintf("Total bytes read: %d (%dMiB, %dMiB/s)", extracted, extracted/mib, 180+extracted/mib%97))
		if v := n.storage.vols[parseMountPoint(conf["rootfs"])["volume"]]; v != nil {
			v.used = min(v.size, v.used+extracted)
		}
		if conf["arch"] == "" {
			w.log("Detected container architecture: amd64")
			conf["arch"] = "amd64"
		}
		info := templateInfo(name)
		if conf["ostype"] != "unmanaged" {
			conf["ostype"] = info.ostype // PVE::LXC::Setup detects it
		}
		hostname := cmpOr(conf["hostname"], fmt.Sprintf("CT%d", vmid))
		if info.ostype == "debian" || info.ostype == "ubuntu" {
			w.log("Setting up 'proxmox-regenerate-snakeoil.service' to regenerate snakeoil certificate..")
		}
		if conf["ostype"] != "unmanaged" {
			short, _, _ := strings.Cut(hostname, ".")
			for _, t := range []string{"rsa", "ed25519", "ecdsa"} {
				w.log(fmt.Sprintf("Creating SSH host key 'ssh_host_%s_key' - this may take some time ...", t),
					fmt.Sprintf("done: %s root@%s", fingerprint(), short))
			}
		}
		if info.systemd > 0 && parseFeatures(conf["features"])["nesting"] != "1" {
			w.warn(fmt.Sprintf("Systemd %d detected. You may need to enable nesting.", info.systemd))
		}
		conf["hostname"] = hostname
		if conf["memory"] == "" || conf["memory"] == "0" {
			conf["memory"] = "512"
		}
		if _, ok := conf["swap"]; !ok {
			conf["swap"] = "512"
		}
		final = conf
		if haManaged {
			w.log("Add as HA resource")
		}
	}
	finish := func(ok bool, at time.Time) {
		ct := p.lxc.cts[vmid]
		if ct == nil {
			return
		}
		if ok && final != nil {
			ct.guestConfig = newGuestConfig(final)
			ct.reload()
			p.addGuestToPoolLocked(vmid, pool)
			if start {
				// vm_start is called as an API method: a vzstart task of its own
				// (from memory: fork_worker in a worker forks another one)
				p.spawnCTStartLocked(at, node, vmid, r.User, false, "vzstart")
			}
			if haManaged {
				p.addHAResourceLocked(haSID("lxc", vmid), haCreateState(start))
			}
			return
		}
		if n := p.nodeLocked(node); n != nil {
			for _, v := range vollist {
				n.storage.free(v)
			}
		}
		if !begun && strings.HasPrefix(p.tasks[upid].exit, "can't lock file") {
			return // lock_config failed before the code ran: the config stays, locked
		}
		delete(p.lxc.cts, vmid)
		delete(p.guests, vmid)
	}
	upid = p.spawnVMTaskLocked(now, node, "vzcreate", strconv.Itoa(vmid), r.User, createWork+ctNewVolumeWork(mpParam),
		[]flockReq{{vmid: vmid, timeout: lockConfigTimeout, ct: true, fresh: true}}, begin, finish)
	return upid, nil
}
