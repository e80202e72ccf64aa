package apiclient

import (
	"os"
	"strings"
	"sync/atomic"
)

// LogLevel is a level of the provider's log, as the Terraform CLI names
// them (TF_LOG).
type LogLevel int32

// The levels, most verbose first.
const (
	LevelTrace LogLevel = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelOff
)

// level is the provider's log level; the zero value (trace) logs
// everything, which is what the plugin SDK does when nothing says
// otherwise (tests, debug mode).
var level atomic.Int32

// SetLogLevel sets the level below which the clients build no log line at
// all (main sets it from the environment, see AlignPluginLogLevels).
func SetLogLevel(l LogLevel) { level.Store(int32(l)) }

// Logs reports whether a line at l would be written: callers check it
// before they build the line's fields.
func Logs(l LogLevel) bool { return l != LevelOff && l >= LogLevel(level.Load()) }

// ParseLogLevel reads a level name as the CLI and hclog do (any case);
// "JSON" is trace. ok is false for an unknown name.
func ParseLogLevel(s string) (l LogLevel, ok bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TRACE", "JSON":
		return LevelTrace, true
	case "DEBUG":
		return LevelDebug, true
	case "INFO":
		return LevelInfo, true
	case "WARN":
		return LevelWarn, true
	case "ERROR":
		return LevelError, true
	case "OFF":
		return LevelOff, true
	}
	return LevelTrace, false
}

// CLILogLevel is the level at which the Terraform CLI shows a provider's
// log lines: TF_LOG_PROVIDER, else TF_LOG; unset is off, and an unknown
// name is trace (OpenTofu's internal/logging providerLogLevel and
// parseLogLevel; Terraform's are the same).
func CLILogLevel(getenv func(string) string) LogLevel {
	s := getenv("TF_LOG_PROVIDER")
	if s == "" {
		s = getenv("TF_LOG")
	}
	if s == "" {
		return LevelOff
	}
	l, _ := ParseLogLevel(s)
	return l
}

var levelNames = [...]string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"}

// String is the level's name as TF_LOG takes it.
func (l LogLevel) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return "TRACE"
	}
	return levelNames[l]
}

// PluginLogVars are the variables that set the levels of the plugin SDK's
// loggers (terraform-plugin-go's and terraform-plugin-framework's); each
// defaults to TRACE when unset.
var PluginLogVars = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}

// AlignPluginLogLevels is for a provider that the CLI started: the plugin
// SDK's loggers write every line down to TRACE unless told otherwise, and
// the CLI throws away what is below its own level, after both sides paid for
// building, encoding and parsing it. For each of the SDK's variables and
// providerVar (the provider logger's, e.g. TF_LOG_PROVIDER_PVE) that is not
// set, it sets the CLI's level (CLILogLevel), so that nothing is built that
// nobody sees; a variable the user set is kept. It sets the clients' level
// (SetLogLevel) to the provider logger's and returns it.
func AlignPluginLogLevels(providerVar string) LogLevel {
	cli := CLILogLevel(os.Getenv)
	for _, v := range append(slicesClone(PluginLogVars), providerVar) {
		if os.Getenv(v) == "" {
			_ = os.Setenv(v, cli.String())
		}
	}
	provider, ok := ParseLogLevel(os.Getenv(providerVar))
	if !ok {
		provider = LevelTrace
	}
	SetLogLevel(provider)
	return provider
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
