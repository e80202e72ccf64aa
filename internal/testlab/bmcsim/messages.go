package bmcsim

import (
	"fmt"
	"net/http"
	"strings"
)

// The error bodies of the simulated BMCs. Every message comes from the
// DMTF Base message registry the BMCs serve (Base.1.5.0, the registry of
// the DMTF public rack-mount mockup): its MessageId is
// "Base.1.5.<key>", its text the registry's with the arguments filled in,
// its severity and resolution the registry's. An error is wrapped as
// DSP0266 describes and OpenBMC's bmcweb does (addMessageToErrorJson): one
// message gives the error its code and text, several give it the code of
// GeneralError.

// baseRegistry names the registry the messages come from.
const baseRegistry = "Base.1.5"

// registryMessage is one message of the Base registry.
type registryMessage struct {
	text       string // with %1, %2, ... for its arguments
	severity   string
	resolution string
}

// baseMessages are the Base.1.5.0 messages the BMCs use, as the registry
// has them.
var baseMessages = map[string]registryMessage{
	"Success": {"Successfully Completed Request", "OK", "None"},
	"GeneralError": {"A general error has occurred. See Resolution for information on how to resolve the error.", "Critical",
		"None."},
	"Created": {"The resource has been created successfully", "OK", "None"},
	"PropertyUnknown": {"The property %1 is not in the list of valid properties for the resource.", "Warning",
		"Remove the unknown property from the request body and resubmit the request if the operation failed."},
	"PropertyValueTypeError": {"The value %1 for the property %2 is of a different type than the property can accept.", "Warning",
		"Correct the value for the property in the request body and resubmit the request if the operation failed."},
	"PropertyValueFormatError": {"The value %1 for the property %2 is of a different format than the property can accept.", "Warning",
		"Correct the value for the property in the request body and resubmit the request if the operation failed."},
	"PropertyValueNotInList": {"The value %1 for the property %2 is not in the list of acceptable values.", "Warning",
		"Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."},
	"PropertyNotWritable": {"The property %1 is a read only property and cannot be assigned a value.", "Warning",
		"Remove the property from the request body and resubmit the request if the operation failed."},
	"PropertyMissing": {"The property %1 is a required property and must be included in the request.", "Warning",
		"Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed."},
	"MalformedJSON": {"The request body submitted was malformed JSON and could not be parsed by the receiving service.", "Critical",
		"Ensure that the request body is valid JSON and resubmit the request."},
	"EmptyJSON": {"The request body submitted contained an empty JSON object and the service is unable to process it.", "Warning",
		"Add properties in the JSON object and resubmit the request."},
	"ActionNotSupported": {"The action %1 is not supported by the resource.", "Critical",
		"The action supplied cannot be resubmitted to the implementation.  Perhaps the action was invalid, the wrong resource was the target or the implementation documentation may be of assistance."},
	"ActionParameterMissing": {"The action %1 requires the parameter %2 to be present in the request body.", "Critical",
		"Supply the action with the required parameter in the request body when the request is resubmitted."},
	"ActionParameterUnknown": {"The action %1 was submitted with the invalid parameter %2.", "Warning",
		"Correct the invalid parameter and resubmit the request if the operation failed."},
	"ActionParameterValueTypeError": {"The value %1 for the parameter %2 in the action %3 is of a different type than the parameter can accept.", "Warning",
		"Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	"ActionParameterValueFormatError": {"The value %1 for the parameter %2 in the action %3 is of a different format than the parameter can accept.", "Warning",
		"Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	"ActionParameterNotSupported": {"The parameter %1 for the action %2 is not supported on the target resource.", "Warning",
		"Remove the parameter supplied and resubmit the request if the operation failed."},
	"QueryNotSupported": {"Querying is not supported by the implementation.", "Warning",
		"Remove the query parameters and resubmit the request if the operation failed."},
	"SessionLimitExceeded": {"The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.", "Critical",
		"Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions (if supported)."},
	"ResourceInUse": {"The change to the requested resource failed because the resource is in use or in transition.", "Warning",
		"Remove the condition and resubmit the request if the operation failed."},
	"ResourceNotFound": {"The requested resource of type %1 named %2 was not found.", "Critical",
		"Provide a valid resource identifier and resubmit the request."},
	"NoValidSession": {"There is no valid session established with the implementation.", "Critical",
		"Establish as session before attempting any operations."},
	"InternalError": {"The request failed due to an internal service error.  The service is still operational.", "Critical",
		"Resubmit the request.  If the problem persists, consider resetting the service."},
	"UnrecognizedRequestBody": {"The service detected a malformed request body that it was unable to interpret.", "Warning",
		"Correct the request body and resubmit the request if it failed."},
	"ResourceMissingAtURI": {"The resource at the URI %1 was not found.", "Critical",
		"Place a valid resource at the URI or correct the URI and resubmit the request."},
	"ResourceAtUriInUnknownFormat": {"The resource at %1 is in a format not recognized by the service.", "Critical",
		"Place an image or resource or file that is recognized by the service at the URI."},
	"ResourceAtUriUnauthorized": {"While accessing the resource at %1, the service received an authorization error %2.", "Critical",
		"Ensure that the appropriate access is provided for the service in order for it to access the URI."},
	"ServiceTemporarilyUnavailable": {"The service is temporarily unavailable.  Retry in %1 seconds.", "Critical",
		"Wait for the indicated retry duration and retry the operation."},
	"ResourceInStandby": {"The request could not be performed because the resource is in standby.", "Critical",
		"Ensure that the resource is in the correct power state and resubmit the request."},
	"SessionTerminated": {"The session was successfully terminated.", "OK", "No resolution is required."},
}

// message is one message of an answer.
type message struct {
	key        string
	args       []string
	resolution string // replaces the registry's (GeneralError asks for one)
	related    []string
}

// msg returns the message key of the Base registry with its arguments.
func msg(key string, args ...string) message { return message{key: key, args: args} }

// json renders the message as a Message object (Message.v1_1_2).
func (m message) json() map[string]any {
	reg, ok := baseMessages[m.key]
	if !ok {
		panic("bmcsim: no Base message " + m.key)
	}
	text := reg.text
	for i := len(m.args); i >= 1; i-- { // %10 before %1
		text = strings.ReplaceAll(text, fmt.Sprintf("%%%d", i), m.args[i-1])
	}
	args := m.args
	if args == nil {
		args = []string{}
	}
	out := map[string]any{
		"@odata.type":     "#Message.v1_1_2.Message",
		"MessageId":       baseRegistry + "." + m.key,
		"Message":         text,
		"MessageArgs":     args,
		"MessageSeverity": reg.severity,
		"Resolution":      reg.resolution,
	}
	if m.resolution != "" {
		out["Resolution"] = m.resolution
	}
	if len(m.related) > 0 {
		out["RelatedProperties"] = m.related
	}
	return out
}

// apiError is an error answer: a status and the messages of its body.
type apiError struct {
	status   int
	messages []message
	header   http.Header // e.g. Retry-After, WWW-Authenticate
}

func (e *apiError) Error() string {
	var parts []string
	for _, m := range e.messages {
		parts = append(parts, m.json()["Message"].(string))
	}
	return fmt.Sprintf("%d %s", e.status, strings.Join(parts, " "))
}

// newError returns an error answer with status and messages.
func newError(status int, messages ...message) *apiError {
	return &apiError{status: status, messages: messages}
}

// body is the error body DSP0266 describes: {"error": {code, message,
// @Message.ExtendedInfo}}.
func (e *apiError) body() map[string]any {
	var infos []any
	for _, m := range e.messages {
		infos = append(infos, m.json())
	}
	code, text := baseRegistry+".GeneralError", baseMessages["GeneralError"].text
	if len(e.messages) == 1 {
		first := infos[0].(map[string]any)
		code, text = first["MessageId"].(string), first["Message"].(string)
	}
	return map[string]any{"error": map[string]any{
		"code":                  code,
		"message":               text,
		"@Message.ExtendedInfo": infos,
	}}
}

// Errors the BMCs answer in many places.

func errNotFound(kind, name string) *apiError {
	return newError(http.StatusNotFound, msg("ResourceNotFound", kind, name))
}

func errNoSession() *apiError {
	e := newError(http.StatusUnauthorized, msg("NoValidSession"))
	e.header = http.Header{"WWW-Authenticate": {`Basic realm="Redfish"`}}
	return e
}

func errMalformedJSON() *apiError { return newError(http.StatusBadRequest, msg("MalformedJSON")) }

func errPropertyUnknown(p string) *apiError {
	return newError(http.StatusBadRequest, msg("PropertyUnknown", p))
}

func errPropertyNotWritable(p string) *apiError {
	return newError(http.StatusBadRequest, msg("PropertyNotWritable", p))
}

func errPropertyType(value, p string) *apiError {
	return newError(http.StatusBadRequest, msg("PropertyValueTypeError", value, p))
}

func errNotInList(value, p string) *apiError {
	return newError(http.StatusBadRequest, msg("PropertyValueNotInList", value, p))
}

// errGeneral is GeneralError with the resolution the registry asks for.
func errGeneral(status int, resolution string) *apiError {
	return newError(status, message{key: "GeneralError", resolution: resolution})
}
