// Package krew fills in plimsoll.yaml, the krew plugin manifest template,
// as krew-release-bot does for a published release. hack/release-snapshot
// fills it in from the archives it builds, and the tests read the result
// as a Plugin, so the template, the release and the tests share one
// reading of it.
package krew

import (
	"bytes"
	_ "embed"
	"fmt"
	"text/template"
)

// Template is krew/plimsoll.yaml.
//
//go:embed plimsoll.yaml
var Template string

// Plugin is the part of krew's Plugin manifest (v1alpha2) a release fills
// in; decoding strictly into it rejects a misplaced field.
type Plugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// Render fills in Template for tag. Like krew-release-bot's
// addURIAndSha, it fills the tag into each archive's URL, itself a
// template, and puts the uri and, four spaces in, its sha256, which
// sha256 gives (the bot downloads the archive; a local build reads it).
func Render(tag string, sha256 func(uri string) (string, error)) ([]byte, error) {
	tmpl, err := template.New("plimsoll.yaml").Funcs(template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			t, err := template.New("url").Parse(url)
			if err != nil {
				return "", err
			}
			var u bytes.Buffer
			if err := t.Execute(&u, struct{ TagName string }{tag}); err != nil {
				return "", err
			}
			sum, err := sha256(u.String())
			if err != nil {
				return "", fmt.Errorf("krew manifest: %w", err)
			}
			return "uri: " + u.String() + "\n    sha256: " + sum, nil
		},
	}).Parse(Template)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, struct{ TagName string }{tag}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
