package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"
)

// Source is where a Config comes from: the command line and the
// environment, which name the file. Load can run again on SIGHUP to pick up
// a changed file; flags and environment still override it.
type Source struct {
	Args   []string
	Getenv func(string) string
	// Output receives --help text; nil means os.Stderr.
	Output io.Writer
}

// Path is the config file named by --config (or -config), else by
// WISHGATE_CONFIG; "" means none (the defaults run).
func (s Source) Path() string {
	for i := 0; i < len(s.Args); i++ {
		a := s.Args[i]
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(s.Args) {
			return s.Args[i+1]
		}
	}
	if s.Getenv != nil {
		return s.Getenv("WISHGATE_CONFIG")
	}
	return ""
}

// Load builds the Config: embedded defaults, the YAML file decoded strictly,
// WISHGATE_* variables, flags, then Validate.
func (s Source) Load() (Config, error) {
	c := Default()
	if path := s.Path(); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		if err := decodeYAML(path, b, &c); err != nil {
			return c, err
		}
	}
	layer := 1 // the file was layer 0: lists from env/flags replace its lists
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	if s.Output != nil {
		fs.SetOutput(s.Output)
	}
	fs.String("config", "", "YAML config file (see config.example.yaml) [WISHGATE_CONFIG]")
	fl := fields(&c, &layer)
	for _, f := range fl {
		v := f.value
		if f.Secret {
			v = maskedValue{v} // --help prints defaults: never a secret from the file
		}
		fs.Var(v, f.Flag, f.Help+" ["+f.Env+"]")
	}
	if s.Getenv != nil {
		for _, f := range fl {
			if v := s.Getenv(f.Env); v != "" {
				if err := f.value.Set(v); err != nil {
					return c, fmt.Errorf("%s: %w", f.Env, err)
				}
			}
		}
	}
	layer = 2
	if err := fs.Parse(s.Args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (settings are flags, see --help)", fs.Arg(0))
	}
	if path := s.Path(); c.SourcesStateFile == "" && path != "" {
		c.SourcesStateFile = filepath.Join(filepath.Dir(path), DefaultSourcesStateFile)
	}
	return c, c.Validate()
}

// DefaultSourcesStateFile is the state file's name next to the config
// file, when sources_state_file is not set.
const DefaultSourcesStateFile = "wishgate-sources.json"

// SourcesStatePath is the file the camera changes made over the control API
// are kept in, "" when they are not kept (sources_state_file "off", or
// empty without a config file).
func (c Config) SourcesStatePath() string {
	if c.SourcesStateFile == "off" {
		return ""
	}
	return c.SourcesStateFile
}

// decodeYAML decodes b over c, refusing unknown keys (and, goccy's default,
// duplicate ones), with the
// file, line and column in the message.
func decodeYAML(path string, b []byte, c *Config) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	// A document of comments only is null, which would zero the struct.
	var probe any
	if err := yaml.Unmarshal(b, &probe); err == nil && probe == nil {
		return nil
	}
	err := yaml.UnmarshalWithOptions(b, c, yaml.DisallowUnknownField())
	if err == nil {
		return nil
	}
	var pe interface {
		GetMessage() string
		GetToken() *token.Token
	}
	if errors.As(err, &pe) && pe.GetToken() != nil && pe.GetToken().Position != nil &&
		strings.HasPrefix(pe.GetMessage(), "unknown field") {
		pos := pe.GetToken().Position
		msg := strings.Replace(pe.GetMessage(), "unknown field", "unknown key", 1)
		return fmt.Errorf("config %s:%d:%d: %s", path, pos.Line, pos.Column, msg)
	}
	// Type errors (a duration that is not one, a map for a list) do not
	// always say which key: find it by decoding the keys one at a time.
	if key, line, kerr := badKey(b); key != "" {
		return fmt.Errorf("config %s:%d: %s: %s", path, line, paramName(key), kerr)
	}
	if errors.As(err, &pe) && pe.GetToken() != nil && pe.GetToken().Position != nil {
		pos := pe.GetToken().Position
		return fmt.Errorf("config %s:%d:%d: %s", path, pos.Line, pos.Column, pe.GetMessage())
	}
	return fmt.Errorf("config %s: %s", path, yaml.FormatError(err, false, false))
}

// badKey returns the first top-level key whose value alone fails to decode,
// its line, and the reason.
func badKey(b []byte) (string, int, string) {
	var doc yaml.MapSlice
	if err := yaml.UnmarshalWithOptions(b, &doc, yaml.UseOrderedMap()); err != nil {
		return "", 0, ""
	}
	for _, item := range doc {
		key, ok := item.Key.(string)
		if !ok {
			continue
		}
		one, err := yaml.Marshal(yaml.MapSlice{item})
		if err != nil {
			continue
		}
		c := Default()
		if err := yaml.Unmarshal(one, &c); err != nil {
			msg := err.Error()
			var pe interface{ GetMessage() string }
			if errors.As(err, &pe) {
				msg = pe.GetMessage()
			}
			return key, keyLine(b, key), msg
		}
	}
	return "", 0, ""
}

// keyLine is the 1-based line where top-level key is defined.
func keyLine(b []byte, key string) int {
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key+":") {
			return i + 1
		}
	}
	return 0
}
