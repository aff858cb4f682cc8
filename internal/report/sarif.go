package report

import (
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// SARIF 2.1.0, the subset plimsoll writes. Code-scanning dashboards read it;
// testdata/sarif-schema-2.1.0.json validates it in the tests.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	// InformationURI is where the tool is documented.
	InformationURI = "https://plimsoll.dev/"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Properties  sarifRunProps     `json:"properties"`
	Results     []sarifResult     `json:"results"`
}

// sarifRunProps carry the verdict and the overall score, which SARIF has
// no place of its own for.
type sarifRunProps struct {
	Verdict        string   `json:"verdict"`
	VerdictSummary string   `json:"verdictSummary"`
	Score          *float64 `json:"score"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           sarifRuleProps  `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Layer         string   `json:"layer"`
	Severity      string   `json:"severity"`
	ChecklistItem string   `json:"checklistItem"`
	Tags          []string `json:"tags"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	StartTimeUTC               string              `json:"startTimeUtc,omitempty"` // the time the report describes
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
	// PartialFingerprints identify the result across runs, so code
	// scanning tracks it however files move (report.Fingerprint).
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	BaselineState       string            `json:"baselineState,omitempty"`
	Properties          sarifResultProps  `json:"properties"`
}

type sarifResultProps struct {
	Object   string `json:"object"`
	Path     string `json:"path,omitempty"`
	Layer    string `json:"layer"`
	Severity string `json:"severity"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// sarifLevel maps a severity to a SARIF level: what must be fixed is an
// error, what should be is a warning, the rest are notes.
func sarifLevel(severity string) string {
	switch severity {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

// sarifURI makes a file path a URI reference: relative paths stay relative
// (code scanning resolves them against the repository root), absolute ones
// become file URIs.
func sarifURI(file string) string {
	p := filepath.ToSlash(file)
	if path.IsAbs(p) || filepath.IsAbs(file) {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p // a Windows drive path, C:/x
		}
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}

// sarifPhysicalLocation is where a file and line are, or nil when there is
// no file to point at (standard input, a live cluster).
func sarifPhysicalLocation(file string, line int) *sarifPhysical {
	if file == "" || file == "-" {
		return nil
	}
	p := &sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(file)}}
	if line > 0 {
		p.Region = &sarifRegion{StartLine: line}
	}
	return p
}

// ruleName is a check ID in the PascalCase SARIF suggests for rule names.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func writeSARIF(w io.Writer, r *Report, _ Options) error {
	driver := sarifDriver{Name: r.Tool.Name, Version: r.Tool.Version, InformationURI: InformationURI, Rules: []sarifRule{}}
	index := map[string]int{}
	for i, c := range r.Checks {
		index[c.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   c.ID,
			Name:                 ruleName(c.ID),
			ShortDescription:     sarifText{c.Title},
			FullDescription:      sarifText{c.Rationale},
			Help:                 sarifText{c.Remediation},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(c.Severity)},
			Properties:           sarifRuleProps{Layer: c.Layer, Severity: c.Severity, ChecklistItem: c.ChecklistItem, Tags: []string{c.Layer}},
		})
	}

	var failed []int // the report's failures, made into SARIF results as they are written
	inv := sarifInvocation{ExecutionSuccessful: !r.Partial && r.Summary.Error == 0}
	inv.StartTimeUTC = r.Time
	for k, res := range r.Results {
		switch res.Status {
		case "fail":
			failed = append(failed, k)
		case "error":
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
				Level:     "error",
				Message:   sarifText{"check " + res.Check + " on " + res.Object.ID() + ": " + res.Message},
				Locations: []sarifLocation{sarifObjectLocation(res)},
			})
		}
	}
	result := func(k int) any {
		res := r.Results[failed[k]]
		msg := res.Object.ID() + ": " + res.Message
		if res.Path != "" {
			msg += " (" + res.Path + ")"
		}
		return sarifResult{
			RuleID:              res.Check,
			RuleIndex:           index[res.Check],
			Level:               sarifLevel(res.Severity),
			Message:             sarifText{msg},
			Locations:           []sarifLocation{sarifObjectLocation(res)},
			Properties:          sarifResultProps{Object: res.Object.ID(), Path: res.Path, Layer: res.Layer, Severity: res.Severity},
			PartialFingerprints: map[string]string{"plimsoll/v" + FingerprintScheme: res.Fingerprint},
			BaselineState:       res.BaselineState,
		}
	}
	for _, e := range r.InputErrors {
		n := sarifNotification{Level: "error", Message: sarifText{"input could not be read: " + e.Message}}
		if p := sarifPhysicalLocation(e.File, e.Line); p != nil {
			n.Locations = []sarifLocation{{PhysicalLocation: p}}
		} else if where := e.Where(); where != "" {
			n.Message.Text = "input could not be read: " + where + ": " + e.Message
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	for _, s := range r.SkippedInputs {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "note", Message: sarifText{"input not read: " + s},
		})
	}

	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{Tool: sarifTool{Driver: driver}, Invocations: []sarifInvocation{inv},
			Properties: sarifRunProps{Verdict: r.Score.Verdict.Status, VerdictSummary: r.Score.Verdict.Summary, Score: r.Score.Overall},
			Results:    []sarifResult{}}},
	}
	return writeStreamingJSON(w, log, "results", len(failed), result)
}

// sarifObjectLocation points at the object's file and line, and names it.
func sarifObjectLocation(res Result) sarifLocation {
	return sarifLocation{
		PhysicalLocation: sarifPhysicalLocation(res.Source.File, res.Source.Line),
		LogicalLocations: []sarifLogical{{
			Name:               res.Object.Name,
			FullyQualifiedName: res.Object.ID(),
			Kind:               "resource",
		}},
	}
}
