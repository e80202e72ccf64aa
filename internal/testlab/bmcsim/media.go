package bmcsim

import (
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// Virtual media: the mockup's two slots, a CD/DVD drive (CD1) and a
// removable disk (Floppy1, a USB stick or floppy image), under the system
// or, with Variant.VirtualMediaUnderManager, under the manager.
//
// InsertMedia takes Image (required), Inserted (true only), WriteProtected,
// TransferProtocolType, TransferMethod (Stream only), UserName, Password and
// MediaType, and checks them as bmcweb does: the image's scheme must be
// http, https, nfs or smb/cifs, or TransferProtocolType must say which;
// both must agree. Inserting into a slot that holds media, or ejecting an
// empty one, answers 500, as iDRAC does ("The Virtual Media image server is
// already connected.", "No Virtual Media devices are currently
// connected."). A successful action answers 204, as iDRAC and bmcweb do.

// VirtualMedia is the state of a virtual media slot.
type VirtualMedia struct {
	ID                   string   // CD1, Floppy1
	MediaTypes           []string // CD, DVD / Floppy, USBStick
	Image                string   // the image URI ("" when empty)
	Inserted             bool
	WriteProtected       bool
	TransferProtocolType string // CIFS, HTTP, HTTPS, NFS ("" when empty)
	UserName             string
	ConnectedVia         string // URI or NotConnected
}

// vmSlot is one virtual media slot.
type vmSlot struct {
	id             string
	name           string
	mediaTypes     []string
	image          string
	inserted       bool
	writeProtected bool
	protocol       string
	userName       string
	password       string
	pendingUntil   time.Time // a media task is under way until then
}

func newVirtualMedia() []*vmSlot {
	return []*vmSlot{
		{id: "CD1", name: "Virtual CD", mediaTypes: []string{"CD", "DVD"}, writeProtected: true},
		{id: "Floppy1", name: "Virtual Removable Media", mediaTypes: []string{"Floppy", "USBStick"}, writeProtected: true},
	}
}

func (s *vmSlot) snapshot() VirtualMedia {
	v := VirtualMedia{
		ID: s.id, MediaTypes: slices.Clone(s.mediaTypes), Image: s.image, Inserted: s.inserted,
		WriteProtected: s.writeProtected, TransferProtocolType: s.protocol, UserName: s.userName, ConnectedVia: "NotConnected",
	}
	if s.inserted {
		v.ConnectedVia = "URI"
	}
	return v
}

// mediaBase is where b serves the slots.
func (b *BMC) mediaBase() string {
	if b.variant.VirtualMediaUnderManager {
		return "/redfish/v1/Managers/" + managerID + "/VirtualMedia"
	}
	return b.systemURI() + "/VirtualMedia"
}

func (b *BMC) slot(id string) *vmSlot {
	for _, s := range b.media {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (b *BMC) mediaCollection() map[string]any {
	var members []string
	for _, s := range b.media {
		members = append(members, b.mediaBase()+"/"+s.id)
	}
	res := collection(b.mediaBase(), "#VirtualMediaCollection.VirtualMediaCollection", "Virtual Media Services", members...)
	res["Description"] = "Virtual Media Service Settings"
	return res
}

// mediaResource is GET of a slot.
func (b *BMC) mediaResource(s *vmSlot) map[string]any {
	uri := b.mediaBase() + "/" + s.id
	res := map[string]any{
		"@odata.id":            uri,
		"@odata.type":          "#VirtualMedia.v1_6_0.VirtualMedia",
		"Id":                   s.id,
		"Name":                 s.name,
		"MediaTypes":           s.mediaTypes,
		"Image":                nil,
		"ImageName":            nil,
		"ConnectedVia":         "NotConnected",
		"Inserted":             s.inserted,
		"WriteProtected":       s.writeProtected,
		"TransferMethod":       "Stream",
		"TransferProtocolType": nil,
		"UserName":             nil,
		"Password":             nil, // never shown
		"VerifyCertificate":    false,
		"Status":               map[string]any{"State": "Enabled", "Health": "OK"},
	}
	if s.inserted {
		res["Image"] = s.image
		res["ImageName"] = imageName(s.image)
		res["ConnectedVia"] = "URI"
		res["TransferProtocolType"] = s.protocol
		if s.userName != "" {
			res["UserName"] = s.userName
		}
	}
	if !b.variant.PatchVirtualMedia {
		res["Actions"] = map[string]any{
			"#VirtualMedia.InsertMedia": map[string]any{"target": uri + "/Actions/VirtualMedia.InsertMedia"},
			"#VirtualMedia.EjectMedia":  map[string]any{"target": uri + "/Actions/VirtualMedia.EjectMedia"},
		}
	}
	return res
}

// imageName is the file name of an image URI.
func imageName(image string) string {
	if u, err := url.Parse(image); err == nil && u.Path != "" {
		return path.Base(u.Path)
	}
	return path.Base(image)
}

// mediaInsert is a validated insertion.
type mediaInsert struct {
	image, protocol, user, password string
	writeProtected                  bool
}

// schemeProtocols maps image URI schemes to TransferProtocolType.
var schemeProtocols = map[string]string{"http": "HTTP", "https": "HTTPS", "nfs": "NFS", "smb": "CIFS", "cifs": "CIFS"}

// checkImage checks an image URI and TransferProtocolType as bmcweb does,
// with the schemes of iDRAC and XCC (http, https, nfs, cifs) and returns
// the image with its scheme and the protocol.
func checkImage(image, protocol, action string) (string, string, *apiError) {
	u, err := url.Parse(image)
	if err != nil || image == "" {
		return "", "", newError(http.StatusBadRequest, msg("ActionParameterValueFormatError", image, "Image", action))
	}
	if protocol != "" && !slices.Contains([]string{"CIFS", "HTTP", "HTTPS", "NFS"}, protocol) {
		return "", "", errNotInList(protocol, "TransferProtocolType")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		if protocol == "" {
			return "", "", newError(http.StatusBadRequest, msg("ResourceAtUriInUnknownFormat", image))
		}
		prefix := map[string]string{"CIFS": "smb://", "HTTP": "http://", "HTTPS": "https://", "NFS": "nfs://"}[protocol]
		return prefix + strings.TrimPrefix(image, "//"), protocol, nil
	}
	fromScheme, ok := schemeProtocols[scheme]
	if !ok || u.Host == "" {
		return "", "", newError(http.StatusBadRequest, msg("ResourceAtUriInUnknownFormat", image))
	}
	if protocol != "" && protocol != fromScheme {
		return "", "", newError(http.StatusBadRequest, msg("ActionParameterValueTypeError", protocol, "TransferProtocolType", action))
	}
	return image, fromScheme, nil
}

// insertMedia serves POST .../Actions/VirtualMedia.InsertMedia.
func (b *BMC) insertMedia(q *request, s *vmSlot) (*response, *apiError) {
	const action = "VirtualMedia.InsertMedia"
	obj, err := parseObject(nonEmpty(q.body))
	if err != nil {
		return nil, err
	}
	ins := mediaInsert{writeProtected: true}
	var image, protocol string
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		typeErr := newError(http.StatusBadRequest, msg("ActionParameterValueTypeError", rawText(v), k, action))
		switch k {
		case "Image", "TransferProtocolType", "TransferMethod", "UserName", "Password", "MediaType":
			str, ok := asString(v)
			if !ok {
				return nil, typeErr
			}
			switch k {
			case "Image":
				image = str
			case "TransferProtocolType":
				protocol = str
			case "TransferMethod":
				if str != "Stream" {
					return nil, newError(http.StatusBadRequest, msg("ActionParameterNotSupported", k, action))
				}
			case "UserName":
				ins.user = str
			case "Password":
				ins.password = str
			case "MediaType":
				if !slices.Contains(s.mediaTypes, str) {
					return nil, errNotInList(str, k)
				}
			}
		case "Inserted", "WriteProtected":
			x, ok := asBool(v)
			if !ok {
				return nil, typeErr
			}
			if k == "Inserted" && !x {
				return nil, newError(http.StatusBadRequest, msg("ActionParameterNotSupported", k, action))
			}
			if k == "WriteProtected" {
				ins.writeProtected = x
			}
		default:
			return nil, newError(http.StatusBadRequest, msg("ActionParameterUnknown", action, k))
		}
	}
	if _, ok := obj["Image"]; !ok {
		return nil, newError(http.StatusBadRequest, msg("ActionParameterMissing", action, "Image"))
	}
	var rerr *apiError
	if ins.image, ins.protocol, rerr = checkImage(image, protocol, action); rerr != nil {
		return nil, rerr
	}
	if q.now.Before(s.pendingUntil) {
		return nil, newError(http.StatusConflict, msg("ResourceInUse"))
	}
	if s.inserted {
		return nil, newError(http.StatusInternalServerError, message{key: "ResourceInUse", related: []string{"#/Image"},
			resolution: "The Virtual Media image server is already connected. Eject the media before inserting another."})
	}
	apply := func() { s.insert(ins) }
	if !b.variant.TaskActions {
		apply()
		return noContent(), nil
	}
	s.pendingUntil = q.now.Add(b.timing.Media)
	return b.startTask(q, "InsertMedia", s.pendingUntil, apply), nil
}

func (s *vmSlot) insert(ins mediaInsert) {
	s.image, s.protocol, s.userName, s.password = ins.image, ins.protocol, ins.user, ins.password
	s.writeProtected, s.inserted = ins.writeProtected, true
}

func (s *vmSlot) eject() {
	s.image, s.protocol, s.userName, s.password = "", "", "", ""
	s.inserted, s.writeProtected = false, true
}

// ejectMedia serves POST .../Actions/VirtualMedia.EjectMedia.
func (b *BMC) ejectMedia(q *request, s *vmSlot) (*response, *apiError) {
	const action = "VirtualMedia.EjectMedia"
	obj, err := parseObject(nonEmpty(q.body))
	if err != nil {
		return nil, err
	}
	if len(obj) > 0 {
		return nil, newError(http.StatusBadRequest, msg("ActionParameterUnknown", action, sortedKeys(obj)[0]))
	}
	if q.now.Before(s.pendingUntil) {
		return nil, newError(http.StatusConflict, msg("ResourceInUse"))
	}
	if !s.inserted {
		return nil, newError(http.StatusInternalServerError,
			message{key: "GeneralError", resolution: "No Virtual Media devices are currently connected."}, msg("InternalError"))
	}
	if !b.variant.TaskActions {
		s.eject()
		return noContent(), nil
	}
	s.pendingUntil = q.now.Add(b.timing.Media)
	return b.startTask(q, "EjectMedia", s.pendingUntil, s.eject), nil
}

// patchMedia serves PATCH of a slot, with Variant.PatchVirtualMedia:
// Image (a URI inserts, null ejects), Inserted (false ejects; true needs
// an Image), WriteProtected, TransferProtocolType, TransferMethod,
// UserName, Password. Like XCC it answers 200 with the slot, and 400 when
// the slot holds other media.
func (b *BMC) patchMedia(q *request, s *vmSlot) (*response, *apiError) {
	const action = "PATCH"
	if err := checkIfMatch(q, b.mediaResource(s)); err != nil {
		return nil, err
	}
	obj, err := parseObject(q.body)
	if err != nil {
		return nil, err
	}
	if len(obj) == 0 {
		return nil, newError(http.StatusBadRequest, msg("EmptyJSON"))
	}
	current := b.mediaResource(s)
	var (
		image, protocol, user, password *string
		inserted, wp                    *bool
		ejectImage                      bool
	)
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "Image", "TransferProtocolType", "TransferMethod", "UserName", "Password":
			if isNull(v) {
				if k == "Image" {
					ejectImage = true
				}
				continue
			}
			str, ok := asString(v)
			if !ok {
				return nil, errPropertyType(rawText(v), k)
			}
			switch k {
			case "Image":
				image = &str
			case "TransferProtocolType":
				protocol = &str
			case "TransferMethod":
				if str != "Stream" {
					return nil, errNotInList(str, k)
				}
			case "UserName":
				user = &str
			case "Password":
				password = &str
			}
		case "Inserted", "WriteProtected":
			x, ok := asBool(v)
			if !ok {
				return nil, errPropertyType(rawText(v), k)
			}
			if k == "Inserted" {
				inserted = &x
			} else {
				wp = &x
			}
		default:
			if _, ok := current[k]; ok {
				return nil, errPropertyNotWritable(k)
			}
			return nil, errPropertyUnknown(k)
		}
	}
	eject := ejectImage || inserted != nil && !*inserted
	switch {
	case eject:
		if s.inserted {
			s.eject()
		}
	case image != nil:
		p := ""
		if protocol != nil {
			p = *protocol
		}
		img, proto, rerr := checkImage(*image, p, action)
		if rerr != nil {
			return nil, rerr
		}
		if s.inserted && s.image != img {
			return nil, newError(http.StatusBadRequest, message{key: "ResourceInUse", related: []string{"#/Image"},
				resolution: "The slot holds another image. Eject it (Image null or Inserted false) before inserting another."})
		}
		ins := mediaInsert{image: img, protocol: proto, writeProtected: true}
		if wp != nil {
			ins.writeProtected = *wp
		}
		if user != nil {
			ins.user = *user
		}
		if password != nil {
			ins.password = *password
		}
		s.insert(ins)
	case inserted != nil && *inserted && !s.inserted:
		return nil, newError(http.StatusBadRequest, msg("PropertyMissing", "Image"))
	case wp != nil && s.inserted:
		s.writeProtected = *wp
	}
	return jsonResponse(http.StatusOK, b.mediaResource(s)), nil
}

// mediaRoute serves the virtual media paths below base (the system or the
// manager), rest being what follows VirtualMedia. ok is false when base is
// not where b serves them.
func (b *BMC) mediaRoute(q *request, base string, rest []string) (*response, *apiError, bool) {
	if base != b.mediaBase() {
		return nil, nil, false
	}
	if len(rest) == 0 {
		if err := allow(q, http.MethodGet); err != nil {
			return nil, err, true
		}
		return jsonResponse(http.StatusOK, b.mediaCollection()), nil, true
	}
	s := b.slot(rest[0])
	if s == nil {
		return nil, errNotFound("VirtualMedia", rest[0]), true
	}
	switch {
	case len(rest) == 1:
		methods := []string{http.MethodGet}
		if b.variant.PatchVirtualMedia {
			methods = append(methods, http.MethodPatch)
		}
		if err := allow(q, methods...); err != nil {
			return nil, err, true
		}
		if q.method == http.MethodPatch {
			resp, err := b.patchMedia(q, s)
			return resp, err, true
		}
		return jsonResponse(http.StatusOK, b.mediaResource(s)), nil, true
	case len(rest) == 3 && rest[1] == "Actions" && !b.variant.PatchVirtualMedia &&
		(rest[2] == "VirtualMedia.InsertMedia" || rest[2] == "VirtualMedia.EjectMedia"):
		if err := allow(q, http.MethodPost); err != nil {
			return nil, err, true
		}
		var resp *response
		var err *apiError
		if rest[2] == "VirtualMedia.InsertMedia" {
			resp, err = b.insertMedia(q, s)
		} else {
			resp, err = b.ejectMedia(q, s)
		}
		return resp, err, true
	}
	return nil, nil, false
}
