// Package policyreport publishes an audit's results inside the cluster as
// the reports other tools already read: wgpolicyk8s.io/v1alpha2
// PolicyReports (one per namespace, named "plimsoll") and one
// ClusterPolicyReport (for cluster-scoped objects and the cluster itself),
// or, with Options.OpenReports, their openreports.io/v1alpha1 successors
// Report and ClusterReport.
//
// Build is pure: the same report, time and options give the same objects.
// Writer.Sync applies them with server-side apply and deletes the reports it
// made earlier that the audit no longer produces. A result's timestamp is
// when it was first found: Build stamps every result with the audit's time,
// and Sync keeps the earlier time of a result it finds again, so that a
// re-audit that changes nothing leaves the reports as they are, and Sync
// does not write them. Each Sync costs one metadata-only LIST per resource,
// one apply per report that changed and one DELETE per report pruned.
//
// Reports are bounded. Kyverno's and trivy-operator's reports grew until
// etcd refused them ("etcdserver: request is too large", kyverno#2674) or
// its database filled (kyverno#10761, trivy-operator#2335). So a report
// lists at most Options.MaxResults results (1000 by default) and at most
// about 1 MiB of them, the most important first (fail, warn, error, skip,
// pass; then by severity), and says so in the annotation
// plimsoll.dev/results-truncated when it had to leave some out. Passing
// results are left out unless Options.IncludePasses: they are most of an
// audit's results and ask nothing of anyone. The summary counts every result
// whatever was left out, so the counts stay true.
//
// The mapping: a check is a policy and its rule (policy and rule are both
// the check's ID), its layer the category, plimsoll's severity the severity.
// A failed info check becomes "warn" with scored false, as the CRD defines
// warn ("non-scored policies whose requirements were not met"): plimsoll
// never scores info checks either. A Namespace's own results (its quota, its
// default-deny policy) go to that namespace's report, as they count in its
// score; the results on the cluster as a whole go to the cluster report
// with no resource, which the CRD reads as the report's own scope.
package policyreport

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/report"
)

// Name is the name of every report plimsoll writes: one per namespace, and
// the cluster report.
const Name = "plimsoll"

// Labels and annotations on every report. ManagedByLabel with the value
// ManagedBy marks the reports Sync owns and prunes.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "plimsoll"
	// ScoreAnnotation is the namespace's readiness score (docs/scoring.md);
	// on the cluster report, the score of cluster-scoped objects. Absent when
	// nothing scorable was assessed.
	ScoreAnnotation = "plimsoll.dev/score"
	// OverallScoreAnnotation, on the cluster report, is the audit's overall
	// score.
	OverallScoreAnnotation = "plimsoll.dev/overall-score"
	// TruncatedAnnotation says how many results a report kept when it could
	// not list them all: "kept 1000 of 4321".
	TruncatedAnnotation = "plimsoll.dev/results-truncated"
	// PassesOmittedAnnotation is "true" when passing results are left out
	// (they are still counted in the summary).
	PassesOmittedAnnotation = "plimsoll.dev/passes-omitted"
)

// Defaults of Options.
const (
	DefaultMaxResults   = 1000
	DefaultFieldManager = "plimsoll"
)

// maxResultBytes bounds the JSON of a report's results, whatever
// MaxResults allows: etcd refuses requests over 1.5 MiB by default, and a
// report must leave room for its metadata and managedFields.
const maxResultBytes = 1 << 20

// source names plimsoll as the engine of every result.
const source = "plimsoll"

// The resources Build makes, by format.
var (
	PolicyReports        = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}
	ClusterPolicyReports = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "clusterpolicyreports"}
	Reports              = schema.GroupVersionResource{Group: "openreports.io", Version: "v1alpha1", Resource: "reports"}
	ClusterReports       = schema.GroupVersionResource{Group: "openreports.io", Version: "v1alpha1", Resource: "clusterreports"}
)

// Options tune Build and Writer. The zero value is ready to use.
type Options struct {
	// MaxResults caps the results each report lists (default
	// DefaultMaxResults; zero or less means the default: reports are always
	// bounded).
	MaxResults int
	// IncludePasses lists passing results too. By default they are only
	// counted in the summary.
	IncludePasses bool
	// FieldManager is the server-side apply field manager (default
	// DefaultFieldManager).
	FieldManager string
	// OpenReports writes openreports.io/v1alpha1 Reports and ClusterReports
	// instead of wgpolicyk8s.io/v1alpha2 PolicyReports and
	// ClusterPolicyReports.
	OpenReports bool
}

func (o Options) withDefaults() Options {
	if o.MaxResults <= 0 {
		o.MaxResults = DefaultMaxResults
	}
	if o.FieldManager == "" {
		o.FieldManager = DefaultFieldManager
	}
	return o
}

// resources returns the namespaced and the cluster-scoped resource.
func (o Options) resources() (namespaced, cluster schema.GroupVersionResource) {
	if o.OpenReports {
		return Reports, ClusterReports
	}
	return PolicyReports, ClusterPolicyReports
}

func (o Options) kinds() (namespaced, cluster string) {
	if o.OpenReports {
		return "Report", "ClusterReport"
	}
	return "PolicyReport", "ClusterPolicyReport"
}

// The typed form of a report: both formats share it, OpenReports adding
// source and configuration. Field names and json tags follow the CRDs.
type policyReport struct {
	APIVersion    string         `json:"apiVersion"`
	Kind          string         `json:"kind"`
	Metadata      objectMeta     `json:"metadata"`
	Source        string         `json:"source,omitempty"`
	Configuration *configuration `json:"configuration,omitempty"`
	Summary       summary        `json:"summary"`
	Results       []result       `json:"results,omitempty"`
}

type objectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type configuration struct {
	Limits limits `json:"limits"`
}

type limits struct {
	MaxResults   int      `json:"maxResults"`
	StatusFilter []string `json:"statusFilter,omitempty"`
}

type summary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

type result struct {
	Policy     string            `json:"policy"`
	Rule       string            `json:"rule,omitempty"`
	Category   string            `json:"category,omitempty"`
	Severity   string            `json:"severity,omitempty"`
	Result     string            `json:"result"`
	Scored     bool              `json:"scored,omitempty"`
	Message    string            `json:"message,omitempty"`
	Resources  []objectReference `json:"resources,omitempty"`
	Source     string            `json:"source,omitempty"`
	Timestamp  timestamp         `json:"timestamp"`
	Properties map[string]string `json:"properties,omitempty"`
}

type objectReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
}

type timestamp struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

// The CRDs' result values, most important first: the order in which a
// capped report keeps results.
var resultOrder = []string{"fail", "warn", "error", "skip", "pass"}

// severities are the CRDs' severities, most severe first; plimsoll's are
// the same words.
var severities = []string{"critical", "high", "medium", "low", "info"}

// Build returns the reports of an audit made at time at: the cluster report
// first, if any result is on a cluster-scoped object, then one report per
// namespace with results, by name. A namespace whose results all passed
// gets a report too, with none listed (unless IncludePasses): its summary
// and score say it passed.
func Build(r *report.Report, at time.Time, o Options) []*unstructured.Unstructured {
	reports := build(r, at, o.withDefaults())
	out := make([]*unstructured.Unstructured, len(reports))
	for i, pr := range reports {
		out[i] = pr.unstructured()
	}
	return out
}

// build makes the typed reports; o has its defaults.
func build(r *report.Report, at time.Time, o Options) []*policyReport {
	checks := make(map[string]*report.Check, len(r.Checks))
	for i := range r.Checks {
		checks[r.Checks[i].ID] = &r.Checks[i]
	}
	byNamespace := map[string][]result{}
	for _, res := range r.Results {
		if res.Object == nil {
			continue
		}
		ns := reportNamespace(res.Object)
		byNamespace[ns] = append(byNamespace[ns], newResult(res, checks[res.Check], at, o))
	}
	scores := map[string]*float64{}
	for _, n := range r.Score.Namespaces {
		scores[n.Namespace] = n.Score
	}

	namespaces := make([]string, 0, len(byNamespace))
	for ns := range byNamespace {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces) // "" (the cluster report) first
	namespacedKind, clusterKind := o.kinds()
	namespaced, _ := o.resources()
	out := make([]*policyReport, 0, len(namespaces))
	for _, ns := range namespaces {
		pr := &policyReport{
			APIVersion: namespaced.GroupVersion().String(),
			Kind:       namespacedKind,
			Metadata: objectMeta{
				Name: Name, Namespace: ns,
				Labels: map[string]string{ManagedByLabel: ManagedBy},
			},
		}
		if ns == "" {
			pr.Kind = clusterKind
		}
		annotate(pr, ScoreAnnotation, scores[ns])
		if ns == "" {
			annotate(pr, OverallScoreAnnotation, r.Score.Overall)
		}
		if o.OpenReports {
			pr.Source = source
			pr.Configuration = &configuration{Limits: limits{MaxResults: o.MaxResults}}
			if !o.IncludePasses {
				pr.Configuration.Limits.StatusFilter = slices.Clone(resultOrder[:len(resultOrder)-1]) // all but pass
			}
		}
		pr.fill(byNamespace[ns], o)
		out = append(out, pr)
	}
	return out
}

// reportNamespace is the namespace whose report lists a result: the
// object's namespace, a Namespace's own name (as in scoring), or "" for
// the cluster report.
func reportNamespace(o *report.Object) string {
	if o.Kind == "Namespace" && o.Namespace == "" {
		return o.Name
	}
	return o.Namespace
}

func newResult(res report.Result, c *report.Check, at time.Time, o Options) result {
	out := result{
		Policy:    res.Check,
		Rule:      res.Check,
		Category:  res.Layer,
		Severity:  crdSeverity(res.Severity),
		Result:    crdResult(res.Status, res.Severity),
		Message:   res.Message,
		Timestamp: timestamp{Seconds: at.Unix(), Nanos: int32(at.Nanosecond())},
	}
	if !o.OpenReports {
		out.Source = source // OpenReports name it once, on the report
	}
	// Scored as plimsoll scores: passes and failures of checks that are
	// not info. Skips and errors are left out of the score.
	out.Scored = (out.Result == "pass" || out.Result == "fail") && res.Severity != "info"
	if out.Message == "" && out.Result == "pass" && c != nil {
		out.Message = c.Title // what the object was found to do
	}
	if !isCluster(res.Object) {
		// A Result carries no UID, and none is invented: consumers match
		// resources by kind, namespace and name.
		out.Resources = []objectReference{{
			APIVersion: res.Object.APIVersion, Kind: res.Object.Kind,
			Namespace: res.Object.Namespace, Name: res.Object.Name,
		}}
	}
	props := map[string]string{}
	if res.Path != "" {
		props["path"] = res.Path
	}
	if res.Exempted {
		props["exempted"] = "true"
	}
	if (out.Result == "fail" || out.Result == "warn") && c != nil && c.Remediation != "" {
		props["remediation"] = c.Remediation
	}
	if len(props) > 0 {
		out.Properties = props
	}
	return out
}

// isCluster reports whether the object is the one that stands for the
// whole cluster: results on it have no resource of their own.
func isCluster(o *report.Object) bool {
	return o.Kind == "Cluster" && o.APIVersion == inventory.ClusterAPIVersion
}

// crdResult maps plimsoll's status to the CRDs' result.
func crdResult(status, severity string) string {
	switch status {
	case "fail":
		if severity == "info" {
			return "warn"
		}
		return "fail"
	case "pass", "skip", "error":
		return status
	}
	return "error" // an unknown status is no pass
}

// crdSeverity maps plimsoll's severity to the CRDs' enum, or "" for one
// it does not know (the field is optional).
func crdSeverity(s string) string {
	if rank(severities, s) < len(severities) {
		return s
	}
	return ""
}

// rank is s's place in order, or len(order) when absent.
func rank(order []string, s string) int {
	for i, x := range order {
		if x == s {
			return i
		}
	}
	return len(order)
}

func annotate(pr *policyReport, key string, score *float64) {
	if score == nil {
		return
	}
	if pr.Metadata.Annotations == nil {
		pr.Metadata.Annotations = map[string]string{}
	}
	pr.Metadata.Annotations[key] = strconv.FormatFloat(*score, 'f', -1, 64)
}

// fill sets the summary over every result, and lists the most important
// ones within the bounds.
func (pr *policyReport) fill(results []result, o Options) {
	listed := results[:0:0]
	for _, res := range results {
		switch res.Result {
		case "pass":
			pr.Summary.Pass++
		case "fail":
			pr.Summary.Fail++
		case "warn":
			pr.Summary.Warn++
		case "error":
			pr.Summary.Error++
		case "skip":
			pr.Summary.Skip++
		}
		if res.Result != "pass" || o.IncludePasses {
			listed = append(listed, res)
		}
	}
	if !o.IncludePasses {
		pr.annotate(PassesOmittedAnnotation, "true")
	}
	sort.Slice(listed, func(i, j int) bool { return less(&listed[i], &listed[j]) })
	keep := min(len(listed), o.MaxResults)
	size := 0
	for i := 0; i < keep; i++ {
		size += len(mustJSON(listed[i])) + 1 // and a comma
		if size > maxResultBytes {
			keep = i
			break
		}
	}
	if keep < len(listed) {
		pr.annotate(TruncatedAnnotation, "kept "+strconv.Itoa(keep)+" of "+strconv.Itoa(len(listed)))
	}
	pr.Results = listed[:keep]
}

func (pr *policyReport) annotate(key, value string) {
	if pr.Metadata.Annotations == nil {
		pr.Metadata.Annotations = map[string]string{}
	}
	pr.Metadata.Annotations[key] = value
}

// less orders results most important first, then by object and check so
// that the order depends on nothing but the results.
func less(a, b *result) bool {
	if x, y := rank(resultOrder, a.Result), rank(resultOrder, b.Result); x != y {
		return x < y
	}
	if x, y := rank(severities, a.Severity), rank(severities, b.Severity); x != y {
		return x < y
	}
	ka, kb := a.sortKey(), b.sortKey()
	for i := range ka {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return false
}

func (r *result) sortKey() [8]string {
	var o objectReference
	if len(r.Resources) > 0 {
		o = r.Resources[0]
	}
	return [8]string{o.Namespace, o.Kind, o.Name, o.APIVersion, r.Policy, r.Properties["path"], r.Message, r.Category}
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // the types above always encode
	}
	return data
}

// unstructured converts the report to the form the dynamic client sends.
func (pr *policyReport) unstructured() *unstructured.Unstructured {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pr)
	if err != nil {
		panic(err) // the types above always convert
	}
	return &unstructured.Unstructured{Object: obj}
}

// String names a report for messages: "PolicyReport shop/plimsoll".
func (pr *policyReport) String() string {
	if pr.Metadata.Namespace == "" {
		return pr.Kind + " " + pr.Metadata.Name
	}
	return pr.Kind + " " + pr.Metadata.Namespace + "/" + pr.Metadata.Name
}
