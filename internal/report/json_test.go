package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// resultByReflection is what encoding/json writes for a result, as the
// rest of the report is written.
func resultByReflection(t *testing.T, r *Result) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// TestResultAppendJSON holds the hand-written result encoding to
// encoding/json's: every field set and unset, odd text, no object or
// source.
func TestResultAppendJSON(t *testing.T) {
	// A field added to these types must be added to appendJSON too.
	for _, typ := range []struct {
		v      any
		fields int
	}{{Result{}, 11}, {Object{}, 4}, {Source{}, 3}} {
		if n := reflect.TypeOf(typ.v).NumField(); n != typ.fields {
			t.Errorf("%T has %d fields, and appendJSON writes %d: update it and this test", typ.v, n, typ.fields)
		}
	}
	obj := &Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	for _, r := range []Result{
		{},
		{Check: "probe-readiness", Layer: "workloads", Severity: "high", Status: "fail", Object: obj, Source: &Source{File: "k8s/web.yaml", Line: 12}, Message: `container "web" <has> & no "probe"`, Path: "spec.template.spec.containers[0]", Fingerprint: "1:00ff", BaselineState: "new"},
		{Check: "c", Status: "skip", Object: &Object{Kind: "Namespace", Name: "n\u2028"}, Source: &Source{Origin: "cluster"}, Message: "exempt: \x01\tbad \xff", Exempted: true},
		{Check: "c", Status: "pass", Object: obj, Source: &Source{}},
		{Check: "c", Status: "pass", Object: obj, Source: &Source{Line: 3, Origin: "helm"}},
	} {
		if got, want := string(r.appendJSON(nil)), resultByReflection(t, &r); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func FuzzResultAppendJSON(f *testing.F) {
	f.Add("check", "ns", "name", "file", 1, "origin", "message", "path", true)
	f.Fuzz(func(t *testing.T, check, ns, name, file string, line int, origin, message, path string, exempted bool) {
		r := Result{Check: check, Layer: check, Severity: name, Status: ns,
			Object: &Object{APIVersion: origin, Kind: check, Namespace: ns, Name: name},
			Source: &Source{File: file, Line: line, Origin: origin}, Message: message, Path: path, Exempted: exempted,
			Fingerprint: file, BaselineState: origin}
		if got, want := string(r.appendJSON(nil)), resultByReflection(t, &r); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}
