package report

import (
	"cmp"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
)

// SARIF 2.1.0, the subset plimsoll writes. Code-scanning dashboards read it;
// testdata/sarif-schema-2.1.0.json validates it in the tests.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	// InformationURI is where the tool is documented.
	InformationURI = "https://plimsoll.dev/"
	// RepositoryURL is plimsoll's source repository.
	RepositoryURL = "https://github.com/plimsoll/plimsoll"
	// ChecksURL is the reference of every check, docs/checks.md, on the
	// repository's main branch; each check is a section of it.
	ChecksURL = RepositoryURL + "/blob/main/docs/checks.md"
)

// CheckURL is where a check is documented: its section of docs/checks.md,
// whose heading is the check's ID, and so is its anchor (IDs are
// lower-case words and hyphens, which a heading's anchor keeps as written).
func CheckURL(id string) string {
	return ChecksURL + "#" + id
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	// OriginalURIBaseIDs say where the root that file locations are
	// relative to was (Options.SARIFRoot).
	OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds,omitempty"`
	Properties         sarifRunProps            `json:"properties"`
	Results            []sarifResult            `json:"results"`
}

// sarifRunProps carry the verdict, the overall score and, with a
// baseline, what comparing with it found (how many failures it
// suppressed among them), which SARIF has no place of its own for: each
// result's baselineState says the rest.
type sarifRunProps struct {
	Verdict        string              `json:"verdict"`
	VerdictSummary string              `json:"verdictSummary"`
	Score          *float64            `json:"score"`
	Baseline       *sarifBaselineProps `json:"baseline,omitempty"`
}

type sarifBaselineProps struct {
	Source     string   `json:"source"`
	Comparable bool     `json:"comparable"`
	New        int      `json:"new"`
	Unchanged  int      `json:"unchanged"`
	Updated    int      `json:"updated"`
	Absent     int      `json:"absent"`
	Suppressed int      `json:"suppressed"`
	Expired    int      `json:"expired"`
	Score      *float64 `json:"score,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// SemanticVersion is Version when it is one (without its "v"): code
	// scanning tells by it a change of tool from a change of code.
	SemanticVersion string      `json:"semanticVersion,omitempty"`
	InformationURI  string      `json:"informationUri"`
	Rules           []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	HelpURI              string          `json:"helpUri"`
	Help                 sarifHelp       `json:"help"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           sarifRuleProps  `json:"properties"`
}

// sarifHelp is a rule's documentation; code scanning shows the markdown
// beside each alert.
type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Layer         string `json:"layer"`
	Severity      string `json:"severity"`
	ChecklistItem string `json:"checklistItem"`
	// SecuritySeverity is the severity as code scanning ranks the alerts
	// of rules tagged security: a score from 0.1 to 10 (securitySeverity).
	SecuritySeverity string   `json:"security-severity,omitempty"`
	Tags             []string `json:"tags"`
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
	// Suppressions are, for an exempted result, the exemption.
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	Properties   sarifResultProps   `json:"properties"`
}

// sarifSuppression is an exemption, as SARIF says a result is suppressed.
type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
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
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

// sarifRootID names the root that file locations are relative to.
const sarifRootID = "ROOT"

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

// securitySeverity is the score code scanning reads a severity from: it
// calls 9.0 and above critical, 7.0 to 8.9 high, 4.0 to 6.9 medium and 0.1
// to 3.9 low. Each severity sits inside its band, not on an edge. Info has
// none: its level, a note, says it.
func securitySeverity(severity string) string {
	switch severity {
	case "critical":
		return "9.5"
	case "high":
		return "8.0"
	case "medium":
		return "5.5"
	case "low":
		return "3.0"
	}
	return ""
}

// ruleTags are what code scanning filters a rule's alerts by: the layer
// ("security" for the security layer's checks, which makes code scanning
// rank their alerts by securitySeverity) and the checklist item's category.
func ruleTags(c Check) []string {
	tags := []string{c.Layer}
	if cat := checklistCategory(c.ChecklistItem); cat != "" && !strings.EqualFold(cat, c.Layer) {
		tags = append(tags, cat)
	}
	return tags
}

// checklistCategory is the heading of a checklist item, the words before
// its first colon ("Highly available control plane: You can achieve..."),
// or, for an item of a checklist's summary ("Complete Checklist: Backup
// (Velero...)"), the heading inside it.
func checklistCategory(item string) string {
	head, rest, ok := strings.Cut(item, ": ")
	if !ok {
		return ""
	}
	if strings.Contains(head, "Checklist") {
		head, _, _ = strings.Cut(rest, ": ")
		head, _, _ = strings.Cut(head, " (")
	}
	return head
}

// ruleHelp is a check's documentation as code scanning shows it beside an
// alert: why it matters, how to fix it, the checklist item, and where the
// check's reference is. The texts are docs/checks.md's, Markdown already.
func ruleHelp(c Check) sarifHelp {
	url := CheckURL(c.ID)
	return sarifHelp{
		Text: "Why: " + c.Rationale + "\n\nFix: " + c.Remediation + "\n\nChecklist item: " + c.ChecklistItem +
			"\n\nReference: " + url,
		Markdown: "**Why:** " + c.Rationale + "\n\n**Fix:** " + c.Remediation + "\n\n**Checklist item:** " + c.ChecklistItem +
			"\n\n[The check `" + c.ID + "` in docs/checks.md](" + url + ")",
	}
}

// semanticVersion is a version as Semantic Versioning 2.0 writes it (no
// "v"), or "" when it is not one: "dev", or a build without a version.
// A version with the commit, "v1.2.3 (commit 0123456789ab)", is its first
// word.
func semanticVersion(v string) string {
	v, _, _ = strings.Cut(v, " ")
	v = strings.TrimPrefix(v, "v")
	if _, err := version.ParseSemantic(v); err != nil {
		return ""
	}
	return v
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

// sarifLocator names files in a run: relative to the root when one is set
// and they are under it (Options.SARIFRoot), by absolute file URIs when
// they are outside it, and as the report has them when there is no root.
type sarifLocator struct {
	root, dir string
}

func newSARIFLocator(opts Options) sarifLocator {
	l := sarifLocator{root: opts.SARIFRoot, dir: opts.Dir}
	if l.dir == "" {
		l.dir = l.root
	}
	return l
}

// baseIDs are the run's originalUriBaseIds: where the root is, as a file
// URI ending in a slash, as SARIF wants a base URI to.
func (l sarifLocator) baseIDs() map[string]sarifArtifact {
	if l.root == "" {
		return nil
	}
	uri := sarifURI(l.root)
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	return map[string]sarifArtifact{sarifRootID: {URI: uri}}
}

func (l sarifLocator) artifact(file string) sarifArtifact {
	if l.root == "" {
		return sarifArtifact{URI: sarifURI(file)}
	}
	abs := file
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(l.dir, file)
	}
	rel, err := filepath.Rel(l.root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return sarifArtifact{URI: sarifURI(filepath.Clean(abs))}
	}
	return sarifArtifact{URI: sarifURI(rel), URIBaseID: sarifRootID}
}

// physical is where a file and line are, or nil when there is no file to
// point at (standard input, a live cluster).
func (l sarifLocator) physical(file string, line int) *sarifPhysical {
	if file == "" || file == "-" {
		return nil
	}
	p := &sarifPhysical{ArtifactLocation: l.artifact(file)}
	if line > 0 {
		p.Region = &sarifRegion{StartLine: line}
	}
	return p
}

// object points at a result's object, at its file and line, and names it.
// Code scanning rejects a whole log for one result whose location has no
// file ("expected a physical location"), so an object no file holds (read
// from standard input or a cluster, or a Namespace that no input declares
// but objects are in) is pointed at by a relative URI that names it and
// where it came from, stdin/Deployment/shop/web, cluster/Namespace/shop or
// undeclared/Namespace/shop: no file of the repository, and the same in
// every run, as code scanning needs to track its alerts.
func (l sarifLocator) object(res Result) sarifLocation {
	p := l.physical(res.Source.File, res.Source.Line)
	if p == nil {
		p = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: objectURI(res.Object, res.Source)}}
	}
	return sarifLocation{
		PhysicalLocation: p,
		LogicalLocations: []sarifLogical{{
			Name:               res.Object.Name,
			FullyQualifiedName: res.Object.ID(),
			Kind:               "resource",
		}},
	}
}

// objectURI names an object that no file holds, from where it came from.
func objectURI(o *Object, src *Source) string {
	from := "undeclared"
	switch {
	case src.File == "-":
		from = "stdin"
	case src.Origin == "cluster" || strings.HasPrefix(src.Origin, "snapshot "):
		from = "cluster"
	}
	parts := []string{from, o.Kind, o.Namespace, o.Name}
	if o.Namespace == "" {
		parts = []string{from, o.Kind, o.Name}
	}
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// MaxSARIFResults is the most results a SARIF log holds: GitHub code
// scanning rejects a run of more than 25,000 results, and stores only the
// most severe 5,000 of those it takes.
const MaxSARIFResults = 25000

// bySeverity orders results (indexes into r.Results) most severe first,
// and otherwise as the report orders them.
func bySeverity(r *Report, results []int) {
	rank := func(k int) check.Severity {
		s, _ := check.ParseSeverity(r.Results[k].Severity)
		return s
	}
	slices.SortStableFunc(results, func(a, b int) int { return cmp.Compare(rank(b), rank(a)) })
}

// capNotification says that a log holds MaxSARIFResults of the failures
// and exempted results there were, which it left out, and where they all
// are.
func capNotification(failed, exempted int) sarifNotification {
	leftFailed := max(failed-MaxSARIFResults, 0)
	leftExempted := failed + exempted - MaxSARIFResults - leftFailed
	return sarifNotification{Level: "warning", Message: sarifText{fmt.Sprintf(
		"%d results left out: code scanning takes at most %d in a run, so the log holds the failures, most severe first, then the exempted results; "+
			"left out are %d of the %d failures and %d of the %d exempted results. The JSON report (plimsoll audit -o json) lists them all.",
		leftFailed+leftExempted, MaxSARIFResults, leftFailed, failed, leftExempted, exempted)}}
}

// suppressionOf is the exemption of an exempted result: in the source for
// an annotation, which the object's manifest holds, and external for the
// configuration; accepted, since an exemption is a decision taken (code
// scanning closes the alert of an accepted suppression); justified by the
// reason given, which the result's message holds after what exempted it.
func suppressionOf(res Result) sarifSuppression {
	if reason, ok := strings.CutPrefix(res.Message, audit.ExemptedByAnnotation); ok {
		return sarifSuppression{Kind: "inSource", Status: "accepted", Justification: reason}
	}
	reason, _ := strings.CutPrefix(res.Message, audit.ExemptedByConfig)
	return sarifSuppression{Kind: "external", Status: "accepted", Justification: reason}
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

func writeSARIF(w io.Writer, r *Report, opts Options) error {
	driver := sarifDriver{
		Name: r.Tool.Name, Version: r.Tool.Version, SemanticVersion: semanticVersion(r.Tool.Version),
		InformationURI: InformationURI, Rules: []sarifRule{},
	}
	index := map[string]int{}
	for i, c := range r.Checks {
		index[c.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   c.ID,
			Name:                 ruleName(c.ID),
			ShortDescription:     sarifText{c.Title},
			FullDescription:      sarifText{c.Rationale},
			HelpURI:              CheckURL(c.ID),
			Help:                 ruleHelp(c),
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(c.Severity)},
			Properties: sarifRuleProps{
				Layer: c.Layer, Severity: c.Severity, ChecklistItem: c.ChecklistItem,
				SecuritySeverity: securitySeverity(c.Severity), Tags: ruleTags(c),
			},
		})
	}

	loc := newSARIFLocator(opts)
	// The results are the report's failures, then its exempted results,
	// each most severe first, made into SARIF results as they are written:
	// so the most severe are kept under the cap, and shown first.
	var failed, exempted []int
	inv := sarifInvocation{ExecutionSuccessful: !r.Partial && r.Summary.Error == 0}
	inv.StartTimeUTC = r.Time
	for k, res := range r.Results {
		switch {
		case res.Status == "fail":
			failed = append(failed, k)
		case res.Exempted:
			exempted = append(exempted, k)
		case res.Status == "error":
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
				Level:     "error",
				Message:   sarifText{"check " + res.Check + " on " + res.Object.ID() + ": " + res.Message},
				Locations: []sarifLocation{loc.object(res)},
			})
		}
	}
	bySeverity(r, failed)
	bySeverity(r, exempted)
	emitted := append(failed, exempted...)
	capped := len(emitted) > MaxSARIFResults
	if capped {
		emitted = emitted[:MaxSARIFResults]
	}
	result := func(k int) any {
		res := r.Results[emitted[k]]
		msg := res.Object.ID() + ": " + res.Message
		if res.Path != "" {
			msg += " (" + res.Path + ")"
		}
		out := sarifResult{
			RuleID:              res.Check,
			RuleIndex:           index[res.Check],
			Level:               sarifLevel(res.Severity),
			Message:             sarifText{msg},
			Locations:           []sarifLocation{loc.object(res)},
			Properties:          sarifResultProps{Object: res.Object.ID(), Path: res.Path, Layer: res.Layer, Severity: res.Severity},
			PartialFingerprints: map[string]string{"plimsoll/v" + FingerprintScheme: res.Fingerprint},
			BaselineState:       res.BaselineState,
		}
		if res.Exempted {
			out.Suppressions = []sarifSuppression{suppressionOf(res)}
			out.PartialFingerprints["plimsoll/v"+FingerprintScheme] = fingerprint(res.Check, *res.Object, "")
		}
		return out
	}
	for _, e := range r.InputErrors {
		n := sarifNotification{Level: "error", Message: sarifText{"input could not be read: " + e.Message}}
		if p := loc.physical(e.File, e.Line); p != nil {
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
	if capped {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, capNotification(len(failed), len(exempted)))
	}

	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{Tool: sarifTool{Driver: driver}, Invocations: []sarifInvocation{inv},
			OriginalURIBaseIDs: loc.baseIDs(),
			Properties:         sarifRunProps{Verdict: r.Score.Verdict.Status, VerdictSummary: r.Score.Verdict.Summary, Score: r.Score.Overall, Baseline: sarifBaseline(r.Baseline)},
			Results:            []sarifResult{}}},
	}
	return writeStreamingJSON(w, log, "results", len(emitted), result)
}

// sarifBaseline is what comparing with a baseline found, as counts.
func sarifBaseline(b *BaselineComparison) *sarifBaselineProps {
	if b == nil {
		return nil
	}
	return &sarifBaselineProps{Source: b.Source, Comparable: b.Comparable, New: b.New, Unchanged: b.Unchanged,
		Updated: b.Updated, Absent: len(b.Absent), Suppressed: b.Suppressed, Expired: len(b.Expired), Score: b.Score}
}
