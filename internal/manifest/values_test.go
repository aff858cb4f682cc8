package manifest

import (
	"encoding/base64"
	"testing"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestValuesRefused pins the errors for values the API server refuses:
// each names the file, the line and the key, never the value.
func TestValuesRefused(t *testing.T) {
	secret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
	tests := []struct{ name, doc, want string }{
		{"not base64", secret + "data:\n  user: YWRtaW4=\n  password: hunter2!\n", `f.yaml:7: Secret s: the value of key "password" in data is not base64 (the value is not shown: it may be secret)`},
		{"not base64, in flow style", secret + "data: {password: hunter2!}\n", `f.yaml:5: Secret s: the value of key "password" in data is not base64 (the value is not shown: it may be secret)`},
		{"a mapping in stringData", secret + "stringData:\n  password:\n    nested: hunter2\n", `f.yaml:6: Secret s: the value of key "password" in stringData is a mapping, want a string`},
		{"a sequence in data", configMap + "data:\n  k: [hunter2]\n", `f.yaml:6: ConfigMap c: the value of key "k" in data is a sequence, want a string`},
		{"a number, in flow style", configMap + "data: {port: 8080}\n", `f.yaml:5: ConfigMap c: the value of key "port" in data is a number, want a string`},
		{"a number in data", configMap + "data:\n  port: 8080\n", `f.yaml:6: ConfigMap c: the value of key "port" in data is a number, want a string`},
		{"a boolean in binaryData", configMap + "binaryData:\n  on: true\n", `f.yaml:6: ConfigMap c: the value of key "on" in binaryData is a boolean, want a base64 string`},
		{"data not a mapping", secret + "data:\n- hunter2\n", `f.yaml:5: Secret s: data is a sequence, want a mapping`},
		{"in a List", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  data:\n    a: YQ==\n    b: hunter2!\n", `f.yaml:9: Secret s: the value of key "b" in data is not base64 (the value is not shown: it may be secret)`},
		{"through an alias", secret + "stringData: &d\n  password: hunter2!\ndata: *d\n", `f.yaml:6: Secret s: the value of key "password" in data is not base64 (the value is not shown: it may be secret)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Parse("f.yaml", []byte(tt.doc), inventory.Source{File: "f.yaml"})
			var got []string
			for _, e := range res.Errors {
				got = append(got, e.Error())
			}
			if len(got) == 0 || got[0] != tt.want {
				t.Errorf("got errors %q, want first %q", got, tt.want)
			}
		})
	}
}

// TestValidBase64 holds validBase64, which checks values without decoding
// them, to encoding/base64's decoder, which the API server uses, on every
// text of up to six characters of base64, padding, line breaks and one
// character that is neither.
func TestValidBase64(t *testing.T) {
	const chars = "AQ/=\n\r!"
	texts := []string{""}
	for i := 0; i < len(texts); i++ {
		if len(texts[i]) < 6 {
			for _, c := range chars {
				texts = append(texts, texts[i]+string(c))
			}
		}
	}
	for _, text := range texts {
		_, err := base64.StdEncoding.DecodeString(text)
		if got, want := validBase64(text), err == nil; got != want {
			t.Errorf("validBase64(%q) = %v, want %v", text, got, want)
		}
	}
}
