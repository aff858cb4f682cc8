package manifest

import (
	"errors"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

func TestLibraryError(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "accumulating resources: no such file", "accumulating resources: no such file"},
		{
			"a resource after the message",
			"received error yaml: line 9: mapping key \"type\" already defined at line 5 for the following resource:\nkind: Secret\ndata:\n  password: cXVvYnl0ZQ==\n",
			`received error yaml: line 9: mapping key "type" already defined at line 5 (the resource is not shown: it may hold secret values)`,
		},
		{"long", strings.Repeat("é", 600), strings.Repeat("é", 500) + "... (200 more bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := libraryError(errors.New(tt.in)).Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScalarErrorQuotesNoSecret(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"outside data", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, generation: !!int abc}\n", `1:3: cannot read !!int value "abc"`},
		{"long value", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  generation: !!int " + strings.Repeat("a", 100) + "\n", `1:5: cannot read !!int value "` + strings.Repeat("a", 64) + `"... (36 more bytes)`},
		{"in data", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata: {k: !!int s3cret}\n", `1:4: cannot read the value of key "k" as !!int (the value is not shown: it may be secret)`},
		{"deep in stringData", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {k: [!!float s3cret]}\n", `1:4: cannot read the value of key "k" as !!float (the value is not shown: it may be secret)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Parse("1", []byte(tt.doc), inventory.Source{File: "1"})
			if len(res.Errors) != 1 {
				t.Fatalf("got errors %v, want one", res.Errors)
			}
			if got := res.Errors[0].Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
