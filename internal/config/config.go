// Package config reads plimsoll's configuration file, .plimsoll.yaml: which
// checks run and at what severity, the parameters checks read, and the
// exemptions that turn a check off for some objects, each with a reason and
// perhaps an expiry.
//
// Decoding is strict: an unknown key is an error that names the key and its
// line, so a typo never silently disables a policy.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// FileName is the name discovered upward from the working directory.
const FileName = ".plimsoll.yaml"

// Config is the decoded configuration file.
type Config struct {
	// Checks turns checks on and off and overrides their severity.
	Checks Checks `yaml:"checks"`
	// Parameters are the values checks read; unset ones keep their default.
	Parameters check.Params `yaml:"parameters"`
	// Exemptions turn checks off for matching objects.
	Exemptions []Exemption `yaml:"exemptions"`

	// File is where the configuration was read from, if anywhere.
	File string `yaml:"-"`
}

// Checks selects checks.
type Checks struct {
	// Enable turns on optional checks.
	Enable []string `yaml:"enable"`
	// Disable turns checks off.
	Disable []string `yaml:"disable"`
	// Severity overrides a check's default severity.
	Severity map[string]check.Severity `yaml:"severity"`
	// Custom are files and directories of custom checks (written in CEL),
	// relative to the configuration file. CustomChecks reads them before
	// the rest, since the other keys may name the checks they hold.
	Custom []string `yaml:"custom"`
}

// Exemption turns checks off for the objects it matches. Every field that is
// set must match; within a list, any entry may match. Names and namespaces
// may use shell patterns (web-*).
type Exemption struct {
	Checks     []string          `yaml:"checks"`
	Namespaces []string          `yaml:"namespaces"`
	Kinds      []string          `yaml:"kinds"`
	Names      []string          `yaml:"names"`
	Labels     map[string]string `yaml:"labels"`
	// Reason is required: an exemption nobody can explain is a finding
	// nobody fixed.
	Reason string `yaml:"reason"`
	// Expires, as 2006-01-02, ends the exemption; after it the checks apply
	// again and the report lists the exemption as expired.
	Expires string `yaml:"expires"`

	expires time.Time
}

// Default returns the configuration used when there is no file.
func Default() *Config {
	return &Config{Parameters: check.Defaults()}
}

// Find looks for FileName in dir and its parents and returns its path, or ""
// when there is none.
func Find(dir string) string {
	for {
		p := filepath.Join(dir, FileName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Load reads a configuration file and validates it against the registry.
func Load(file string, reg *check.Registry) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Decode(bytes.NewReader(data), reg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c.File = file
	return c, nil
}

// CustomChecks returns the custom check paths of a configuration file
// (checks.custom), relative to the working directory. It reads nothing
// else of the file: Load, given a registry with those checks, reads the
// rest, strictly.
func CustomChecks(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	var c struct {
		Checks struct {
			Custom []string `yaml:"custom"`
		} `yaml:"checks"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", file, decodeError(err))
	}
	out := make([]string, len(c.Checks.Custom))
	for i, p := range c.Checks.Custom {
		out[i] = p
		if !filepath.IsAbs(p) {
			out[i] = filepath.Join(filepath.Dir(file), p)
		}
	}
	return out, nil
}

// Decode reads a configuration strictly and validates it against the
// registry: unknown keys, unknown check IDs, exemptions without a reason
// and bad dates are errors.
func Decode(r io.Reader, reg *check.Registry) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeError(err)
	}
	// yaml.v3 decodes 2.5 into an integer field as 2: the same document
	// read as nodes says where a number is not whole.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil {
		if err := wholeNumbers(&doc, reflect.TypeOf(c), ""); err != nil {
			return nil, err
		}
	}
	if err := c.validate(reg); err != nil {
		return nil, err
	}
	return c, nil
}

// wholeNumbers returns an error naming the line and key of the first
// number in n that is not whole where t, the Go type n decodes into, holds
// an integer. A type that decodes itself is left to its decoder.
func wholeNumbers(n *yaml.Node, t reflect.Type, key string) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := wholeNumbers(c, t, key); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			var field reflect.Type
			switch t.Kind() {
			case reflect.Map:
				field = t.Elem()
			case reflect.Struct:
				field = fieldByYAMLName(t, n.Content[i].Value)
			}
			if field == nil {
				continue
			}
			if err := wholeNumbers(n.Content[i+1], field, n.Content[i].Value); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if n.Tag == "!!float" {
				return fmt.Errorf("line %d: %s: %s is not a whole number", n.Line, key, n.Value)
			}
		}
	}
	return nil
}

// fieldByYAMLName is the type of t's field that the YAML key name decodes
// into, looking into inlined structs, or nil.
func fieldByYAMLName(t reflect.Type, name string) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			if ft := fieldByYAMLName(f.Type, name); ft != nil {
				return ft
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		if tag == name {
			return f.Type
		}
	}
	return nil
}

// unknownField matches yaml.v3's report of an unknown key, which names a Go
// type users never see.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// decodeError words a decoding error for users: one line, each problem
// with its line, unknown keys called keys.
func decodeError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = unknownField.ReplaceAllString(m, `unknown key "$1"`)
	}
	return errors.New(strings.Join(msgs, "; "))
}

func (c *Config) validate(reg *check.Registry) error {
	known := func(where string, ids []string) error {
		for _, id := range ids {
			if id != "*" && reg.Get(id) == nil {
				return fmt.Errorf("%s: unknown check %q (see plimsoll checks)", where, id)
			}
		}
		return nil
	}
	if err := known("checks.enable", c.Checks.Enable); err != nil {
		return err
	}
	if err := known("checks.disable", c.Checks.Disable); err != nil {
		return err
	}
	for id := range c.Checks.Severity {
		if err := known("checks.severity", []string{id}); err != nil {
			return err
		}
	}
	for i := range c.Exemptions {
		e := &c.Exemptions[i]
		where := fmt.Sprintf("exemptions[%d]", i)
		if len(e.Checks) == 0 {
			return fmt.Errorf("%s: checks is required (the check IDs it exempts)", where)
		}
		if err := known(where+".checks", e.Checks); err != nil {
			return err
		}
		if strings.TrimSpace(e.Reason) == "" {
			return fmt.Errorf("%s: reason is required", where)
		}
		if e.Expires != "" {
			t, err := time.Parse(time.DateOnly, e.Expires)
			if err != nil {
				return fmt.Errorf("%s: expires %q is not a date like 2026-12-31", where, e.Expires)
			}
			// An exemption lasts through the whole day it names.
			e.expires = t.AddDate(0, 0, 1)
		}
	}
	if v := c.Parameters.KubernetesVersion; v != "" {
		if _, _, err := ParseVersion(v); err != nil {
			return fmt.Errorf("parameters.kubernetesVersion: %w", err)
		}
	}
	for i, t := range c.Parameters.AlertTopics {
		if _, err := t.Compile(); err != nil {
			return fmt.Errorf("parameters.alertTopics[%d]: %w", i, err)
		}
	}
	return nil
}

// Enabled reports whether a check runs under this configuration.
func (c *Config) Enabled(ch *check.Check) bool {
	for _, id := range c.Checks.Disable {
		if id == ch.ID {
			return false
		}
	}
	if !ch.Optional {
		return true
	}
	for _, id := range c.Checks.Enable {
		if id == ch.ID {
			return true
		}
	}
	return false
}

// SeverityOf returns a check's severity under this configuration.
func (c *Config) SeverityOf(ch *check.Check) check.Severity {
	if s, ok := c.Checks.Severity[ch.ID]; ok {
		return s
	}
	return ch.Severity
}

// Expired reports whether the exemption has expired at now.
func (e *Exemption) Expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}

// Matches reports whether the exemption covers this check on this object,
// ignoring expiry.
func (e *Exemption) Matches(checkID string, o *inventory.Object) bool {
	return contains(e.Checks, checkID) &&
		(len(e.Namespaces) == 0 || matchAny(e.Namespaces, o.Namespace)) &&
		(len(e.Kinds) == 0 || contains(e.Kinds, o.Kind)) &&
		(len(e.Names) == 0 || matchAny(e.Names, o.Name)) &&
		labelsMatch(e.Labels, o.Labels)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s || x == "*" {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func labelsMatch(want, have map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ParseVersion reads a Kubernetes minor version such as "1.33" or "v1.33.2".
func ParseVersion(v string) (major, minor int, err error) {
	// Upgrade checks parse the target for every object they judge, so
	// this avoids fmt.Sscanf, which was a tenth of an audit's time.
	majorText, rest, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	major, errMajor := strconv.Atoi(majorText)
	minor, errMinor := strconv.Atoi(rest[:digits])
	if errMajor != nil || errMinor != nil || major != 1 {
		return 0, 0, fmt.Errorf("%q is not a Kubernetes version like 1.33", v)
	}
	return major, minor, nil
}
