package pbs

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Property is one key=value pair of a property string.
type Property struct {
	Key, Value string
}

// ParsePropertyString parses a PBS property string as proxmox-schema does
// (property_string::PropertyIterator): comma-separated key=value pairs,
// where a value may be double-quoted to hold commas, with \", \\ and \n as
// the only escapes. A part without a key belongs to defaultKey; with
// defaultKey "" such a part is an error, as is a repeated key. A trailing
// comma is allowed.
func ParsePropertyString(s, defaultKey string) ([]Property, error) {
	var props []Property
	seen := map[string]bool{}
	data := s
	for data != "" {
		var key string
		hasKey := false
		if data[0] != '"' {
			if i := strings.IndexAny(data, ",="); i >= 0 && data[i] == '=' {
				key, data, hasKey = data[:i], data[i+1:], true
			}
		}
		var value string
		if strings.HasPrefix(data, `"`) {
			v, rest, err := parseQuoted(data)
			if err != nil {
				return nil, fmt.Errorf("invalid property string %q: %w", s, err)
			}
			if rest != "" && rest[0] != ',' {
				return nil, fmt.Errorf("invalid property string %q: garbage after quoted string", s)
			}
			value, data = v, strings.TrimPrefix(rest, ",")
		} else if i := strings.IndexByte(data, ','); i >= 0 {
			value, data = data[:i], data[i+1:]
		} else {
			value, data = data, ""
		}
		if !hasKey {
			if defaultKey == "" {
				return nil, fmt.Errorf("invalid property string %q: value %q has no key", s, value)
			}
			key = defaultKey
		}
		if key == "" {
			return nil, fmt.Errorf("invalid property string %q: empty key", s)
		}
		if seen[key] {
			return nil, fmt.Errorf("invalid property string %q: duplicate key %q", s, key)
		}
		seen[key] = true
		props = append(props, Property{Key: key, Value: value})
	}
	return props, nil
}

// parseQuoted reads the quoted string at the start of data (which starts
// with '"') and returns it unescaped, and what follows the closing quote.
func parseQuoted(data string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			return b.String(), data[i+1:], nil
		case '\\':
			i++
			if i == len(data) {
				return "", "", errors.New("unexpected end of string")
			}
			switch data[i] {
			case '"', '\\':
				b.WriteByte(data[i])
			case 'n':
				b.WriteByte('\n')
			default:
				return "", "", errors.New("unsupported escape sequence")
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unexpected end of string")
}

// FormatPropertyString renders properties as key=value pairs in the given
// order, quoting the values that need it.
func FormatPropertyString(props []Property) string {
	parts := make([]string, len(props))
	for i, p := range props {
		parts[i] = p.Key + "=" + quoteIfNeeded(p.Value)
	}
	return strings.Join(parts, ",")
}

// quoteIfNeeded quotes a value as proxmox-schema's printer does when it
// holds '"', '\' or a newline, and also when it holds a comma, which
// PBS's printer leaves bare although its parser would then split the value.
func quoteIfNeeded(v string) string {
	if strings.ContainsAny(v, "\"\\\n,") {
		return quote(v)
	}
	return v
}

// quote renders v as a quoted string with PBS's escapes.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

// parseBool reads a boolean as proxmox-schema's parse_boolean does.
func parseBool(key, v string) (*bool, error) {
	switch strings.ToLower(v) {
	case "1", "on", "yes", "true":
		b := true
		return &b, nil
	case "0", "off", "no", "false":
		b := false
		return &b, nil
	}
	return nil, fmt.Errorf("%s: unable to parse boolean %q", key, v)
}

func parseInt(key, v string) (*int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: not an integer: %q", key, v)
	}
	return &n, nil
}

// propertyWriter collects properties in order, skipping unset ones.
type propertyWriter []Property

func (w *propertyWriter) str(k, v string) {
	if v != "" {
		*w = append(*w, Property{k, v})
	}
}

func (w *propertyWriter) int(k string, v *int64) {
	if v != nil {
		*w = append(*w, Property{k, strconv.FormatInt(*v, 10)})
	}
}

// boolean writes true/false, as PBS's printer renders a bool.
func (w *propertyWriter) boolean(k string, v *bool) {
	if v != nil {
		*w = append(*w, Property{k, strconv.FormatBool(*v)})
	}
}

// other writes the keys this package does not know, sorted.
func (w *propertyWriter) other(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		*w = append(*w, Property{k, m[k]})
	}
}

func (w propertyWriter) String() string { return FormatPropertyString(w) }

// addOther keeps a key this package does not know, so that a property
// string written by a newer PBS survives a read and a write.
func addOther(m *map[string]string, k, v string) {
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = v
}

// DatastoreTuning is the datastore's "tuning" property string.
type DatastoreTuning struct {
	ChunkOrder                 string // "none" or "inode" (PBS's default)
	SyncLevel                  string // "none", "file" or "filesystem" (PBS's default)
	GCAtimeSafetyCheck         *bool  // default true
	GCAtimeCutoff              *int64 // minutes, 1..2880, default 1445
	GCCacheCapacity            *int64 // 0..8388608, default 1048576
	DefaultVerificationWorkers *int64 // 1..32, default 4
	DefaultVerificationReaders *int64 // 1..32, default 1
	// Other holds keys this package does not know, written after the
	// known ones.
	Other map[string]string
}

// ParseDatastoreTuning parses a "tuning" property string.
func ParseDatastoreTuning(s string) (DatastoreTuning, error) {
	var t DatastoreTuning
	props, err := ParsePropertyString(s, "")
	if err != nil {
		return t, err
	}
	for _, p := range props {
		switch p.Key {
		case "chunk-order":
			t.ChunkOrder = p.Value
		case "sync-level":
			t.SyncLevel = p.Value
		case "gc-atime-safety-check":
			t.GCAtimeSafetyCheck, err = parseBool(p.Key, p.Value)
		case "gc-atime-cutoff":
			t.GCAtimeCutoff, err = parseInt(p.Key, p.Value)
		case "gc-cache-capacity":
			t.GCCacheCapacity, err = parseInt(p.Key, p.Value)
		case "default-verification-workers":
			t.DefaultVerificationWorkers, err = parseInt(p.Key, p.Value)
		case "default-verification-readers":
			t.DefaultVerificationReaders, err = parseInt(p.Key, p.Value)
		default:
			addOther(&t.Other, p.Key, p.Value)
		}
		if err != nil {
			return DatastoreTuning{}, fmt.Errorf("invalid tuning %q: %w", s, err)
		}
	}
	return t, nil
}

// String renders the tuning in the key order of PBS's DatastoreTuning,
// which is how PBS itself prints it; "" when nothing is set.
func (t DatastoreTuning) String() string {
	var w propertyWriter
	w.str("chunk-order", t.ChunkOrder)
	w.str("sync-level", t.SyncLevel)
	w.boolean("gc-atime-safety-check", t.GCAtimeSafetyCheck)
	w.int("gc-atime-cutoff", t.GCAtimeCutoff)
	w.int("gc-cache-capacity", t.GCCacheCapacity)
	w.int("default-verification-workers", t.DefaultVerificationWorkers)
	w.int("default-verification-readers", t.DefaultVerificationReaders)
	w.other(t.Other)
	return w.String()
}

// Notification settings of DatastoreNotify.
const (
	NotifyAlways = "always"
	NotifyError  = "error"
	NotifyNever  = "never"
)

// DatastoreNotify is the datastore's "notify" property string: when to
// send notifications for each kind of job ("always", "error" or "never").
type DatastoreNotify struct {
	GC, Verify, Sync, Prune string
	// Other holds keys this package does not know.
	Other map[string]string
}

// ParseDatastoreNotify parses a "notify" property string.
func ParseDatastoreNotify(s string) (DatastoreNotify, error) {
	var n DatastoreNotify
	props, err := ParsePropertyString(s, "")
	if err != nil {
		return n, err
	}
	for _, p := range props {
		switch p.Key {
		case "gc":
			n.GC = p.Value
		case "verify":
			n.Verify = p.Value
		case "sync":
			n.Sync = p.Value
		case "prune":
			n.Prune = p.Value
		default:
			addOther(&n.Other, p.Key, p.Value)
		}
	}
	return n, nil
}

// String renders the settings in PBS's order: gc, verify, sync, prune.
func (n DatastoreNotify) String() string {
	var w propertyWriter
	w.str("gc", n.GC)
	w.str("verify", n.Verify)
	w.str("sync", n.Sync)
	w.str("prune", n.Prune)
	w.other(n.Other)
	return w.String()
}

// Maintenance types of MaintenanceMode. Users set read-only and offline;
// PBS sets delete, unmount and s3-refresh itself while it works on the
// datastore.
const (
	MaintenanceReadOnly  = "read-only"
	MaintenanceOffline   = "offline"
	MaintenanceDelete    = "delete"
	MaintenanceUnmount   = "unmount"
	MaintenanceS3Refresh = "s3-refresh"
)

// MaintenanceMode is the datastore's "maintenance-mode" property string.
// "type" is its default key: PBS's web interface sends
// `type=offline,message="disk swap"`, and PBS 4 stores what its own printer
// makes of it, `offline,message=disk swap`.
type MaintenanceMode struct {
	Type    string
	Message string // at most 64 characters, no control characters, no comma (see Validate)
	// Other holds keys this package does not know.
	Other map[string]string
}

// ParseMaintenanceMode parses a "maintenance-mode" property string. The
// message is returned as stored: PBS's web interface of some versions
// percent-encoded it, and PBS decodes it only when it shows it.
func ParseMaintenanceMode(s string) (MaintenanceMode, error) {
	var m MaintenanceMode
	props, err := ParsePropertyString(s, "type")
	if err != nil {
		return m, err
	}
	for _, p := range props {
		switch p.Key {
		case "type":
			m.Type = p.Value
		case "message":
			m.Message = p.Value
		default:
			addOther(&m.Other, p.Key, p.Value)
		}
	}
	return m, nil
}

// String renders the mode as PBS 4 stores it after an update
// (DataStoreConfig::set_maintenance_mode prints it with proxmox-schema's
// printer): the type without its key, then the message, quoted only if it
// holds '"', '\', a newline or a comma.
func (m MaintenanceMode) String() string {
	var w propertyWriter
	w.str("message", m.Message)
	w.other(m.Other)
	return withDefaultKey("type", m.Type, w)
}

// maxMaintenanceMessage is PBS's limit (MAINTENANCE_MESSAGE_SCHEMA).
const maxMaintenanceMessage = 64

// Validate checks the mode as PBS will: a type of its enumeration and a
// message of at most 64 characters without control characters. It also
// refuses a comma in the message: PBS 4 stores the message without quotes
// unless it holds '"' or '\', so a comma would split it when PBS reads it
// back, and PBS would then ignore the maintenance mode.
func (m MaintenanceMode) Validate() error {
	switch m.Type {
	case MaintenanceReadOnly, MaintenanceOffline, MaintenanceDelete, MaintenanceUnmount, MaintenanceS3Refresh:
	case "":
		return errors.New("invalid maintenance mode: the type is missing")
	default:
		return fmt.Errorf("invalid maintenance mode type %q: expected %s or %s", m.Type, MaintenanceReadOnly, MaintenanceOffline)
	}
	if n := utf8.RuneCountInString(m.Message); n > maxMaintenanceMessage {
		return fmt.Errorf("invalid maintenance message: %d characters, at most %d are allowed", n, maxMaintenanceMessage)
	}
	for _, r := range m.Message {
		if unicode.IsControl(r) {
			return fmt.Errorf("invalid maintenance message %q: control characters are not allowed", m.Message)
		}
	}
	if strings.Contains(m.Message, ",") {
		return fmt.Errorf("invalid maintenance message %q: PBS cannot store a comma in it", m.Message)
	}
	if len(m.Other) > 0 {
		return errors.New("invalid maintenance mode: only type and message can be set")
	}
	return nil
}

// withDefaultKey renders a property string whose default key comes first
// without "key=", as proxmox-schema's printer writes it, unless the value
// would not read back that way; rest follows.
func withDefaultKey(key, value string, rest propertyWriter) string {
	var parts []string
	switch {
	case value == "":
	case strings.ContainsAny(value, "=,\"\\\n"):
		parts = append(parts, key+"="+quoteIfNeeded(value))
	default:
		parts = append(parts, value)
	}
	if len(rest) > 0 {
		parts = append(parts, rest.String())
	}
	return strings.Join(parts, ",")
}

// Backend types of DatastoreBackend.
const (
	BackendFilesystem = "filesystem"
	BackendS3         = "s3"
)

// DatastoreBackend is the datastore's "backend" property string (PBS 4):
// "s3,client=<s3 endpoint id>,bucket=<name>" ("type" is the default key). Without it a datastore
// is on the local filesystem. It can only be set when the datastore is
// created.
type DatastoreBackend struct {
	Type         string // "filesystem" (the default) or "s3"
	Client       string // S3 endpoint ID (/config/s3)
	Bucket       string
	MaxCacheSize string // size of the local cache, e.g. "50 GiB"
	// Other holds keys this package does not know.
	Other map[string]string
}

// ParseDatastoreBackend parses a "backend" property string.
func ParseDatastoreBackend(s string) (DatastoreBackend, error) {
	var b DatastoreBackend
	props, err := ParsePropertyString(s, "type")
	if err != nil {
		return b, err
	}
	for _, p := range props {
		switch p.Key {
		case "type":
			b.Type = p.Value
		case "client":
			b.Client = p.Value
		case "bucket":
			b.Bucket = p.Value
		case "max-cache-size":
			b.MaxCacheSize = p.Value
		default:
			addOther(&b.Other, p.Key, p.Value)
		}
	}
	return b, nil
}

// String renders the backend as proxmox-schema's printer does: the type
// without its key, then client, bucket and max-cache-size.
func (b DatastoreBackend) String() string {
	var w propertyWriter
	w.str("client", b.Client)
	w.str("bucket", b.Bucket)
	w.str("max-cache-size", b.MaxCacheSize)
	w.other(b.Other)
	return withDefaultKey("type", b.Type, w)
}
