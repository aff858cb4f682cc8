package policyreport

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/internal/report"
)

// ErrNotInstalled is what Sync returns (wrapped) when the cluster does not
// serve the report resources: their CRDs are not installed.
var ErrNotInstalled = errors.New("report CRDs not installed")

// listPage is how many reports a LIST asks for at a time.
const listPage = 500

// Writer keeps an audit's reports in a cluster. It remembers what it
// applied, so a re-audit that changes nothing in a report writes nothing.
// Its methods may be called from several goroutines; Syncs run one at a
// time.
type Writer struct {
	dyn  dynamic.Interface
	meta metadata.Interface
	o    Options

	mu sync.Mutex
	// last is what the last Sync applied, by report.
	last map[reportKey]*applied
}

// reportKey names a report; namespace is "" for the cluster report.
type reportKey struct {
	cluster         bool
	namespace, name string
}

func (k reportKey) String() string {
	if k.cluster {
		return k.name
	}
	return k.namespace + "/" + k.name
}

// applied is what the Writer knows of a report it applied.
type applied struct {
	// hash is the hash of the applied content, resourceVersion the version
	// the API server gave it: while both match, there is nothing to write.
	hash            [sha256.Size]byte
	resourceVersion string
	// found is when each listed result was first found, by resultID: a
	// result found again keeps its timestamp.
	found map[uint64]timestamp
}

// Stats says what a Sync did.
type Stats struct {
	// Applied counts the reports sent to the API server.
	Applied int
	// Unchanged counts the reports not sent because they are as the last
	// Sync left them.
	Unchanged int
	// Deleted counts the reports pruned: the audit no longer produced them.
	Deleted int
	// Skipped counts the reports of namespaces that no longer exist or are
	// being deleted: they are not recreated.
	Skipped int
}

// NewWriter returns a Writer that applies reports through dyn and lists
// them through meta (metadata only: pruning needs no more, and a report
// can be a megabyte).
func NewWriter(dyn dynamic.Interface, meta metadata.Interface, o Options) *Writer {
	return &Writer{dyn: dyn, meta: meta, o: o.withDefaults(), last: map[reportKey]*applied{}}
}

// NewForConfig returns a Writer with clients made from c.
func NewForConfig(c *rest.Config, o Options) (*Writer, error) {
	dyn, err := dynamic.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	return NewWriter(dyn, meta, o), nil
}

// Sync makes the cluster's reports those of r, an audit made at time at.
// It applies each report with server-side apply (field manager
// Options.FieldManager, forcing conflicts: plimsoll owns these objects),
// unless it is unchanged since the last Sync; then it deletes the reports
// labelled ManagedByLabel=ManagedBy that r no longer produces, such as
// the report of a namespace that now has no results. An audit limited to
// one namespace prunes only in that namespace.
//
// A namespace that is gone or being deleted is not written to (that would
// fail, or recreate what its deletion removes); it counts as skipped. When
// the cluster does not serve the report resources, Sync returns an error
// wrapping ErrNotInstalled and writes nothing. Other errors are collected:
// one report that cannot be written does not stop the others.
func (w *Writer) Sync(ctx context.Context, r *report.Report, at time.Time) (Stats, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var st Stats
	existing, err := w.list(ctx)
	if err != nil {
		return st, err
	}
	var errs []error
	desired := map[reportKey]bool{}
	for _, pr := range build(r, at, w.o) {
		k := reportKey{cluster: pr.Metadata.Namespace == "", namespace: pr.Metadata.Namespace, name: pr.Metadata.Name}
		desired[k] = true
		rv, exists := existing[k]
		written, err := w.apply(ctx, k, pr, rv, exists)
		switch {
		case err == nil && written:
			st.Applied++
		case err == nil:
			st.Unchanged++
		case namespaceGone(err):
			st.Skipped++
			delete(w.last, k)
		default:
			errs = append(errs, err)
			delete(w.last, k) // what is there now is unknown
		}
	}

	limited := r.Cluster != nil && r.Cluster.Namespace != ""
	for _, k := range sortedKeys(existing) {
		if desired[k] || (limited && (k.cluster || k.namespace != r.Cluster.Namespace)) {
			continue
		}
		err := w.resource(k).Delete(ctx, k.name, metav1.DeleteOptions{})
		switch {
		case err == nil:
			st.Deleted++
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("prune %s: %w", w.describe(k), err))
		}
	}
	for k := range w.last {
		if !desired[k] {
			delete(w.last, k)
		}
	}
	return st, errors.Join(errs...)
}

// apply writes one report unless it is as the last Sync left it (exists
// with resource version rv), and reports whether it wrote.
func (w *Writer) apply(ctx context.Context, k reportKey, pr *policyReport, rv string, exists bool) (bool, error) {
	prev := w.last[k]
	if !exists {
		prev = nil // deleted since, with its namespace or by hand: all is new
	} else if prev == nil {
		// Written before this Writer (a restart, another leader): learn
		// when its results were found, so that an unchanged report is
		// applied unchanged and its timestamps stay.
		var err error
		if prev, err = w.read(ctx, k); err != nil {
			return false, err
		}
	}
	found := map[uint64]timestamp{}
	for i := range pr.Results {
		res := &pr.Results[i]
		id := resultID(*res)
		if prev != nil {
			if ts, ok := prev.found[id]; ok {
				res.Timestamp = ts
			}
		}
		found[id] = res.Timestamp
	}
	hash := sha256.Sum256(mustJSON(pr))
	if prev != nil && prev.resourceVersion == rv && prev.hash == hash {
		return false, nil
	}
	got, err := w.resource(k).Apply(ctx, k.name, pr.unstructured(), metav1.ApplyOptions{FieldManager: w.o.FieldManager, Force: true})
	if err != nil {
		return false, fmt.Errorf("apply %s: %w", pr, err)
	}
	w.last[k] = &applied{hash: hash, resourceVersion: got.GetResourceVersion(), found: found}
	return true, nil
}

// read learns the result timestamps of a report in the cluster. The
// returned entry matches no content, so the report is applied once more.
func (w *Writer) read(ctx context.Context, k reportKey) (*applied, error) {
	u, err := w.resource(k).Get(ctx, k.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", w.describe(k), err)
	}
	var pr policyReport
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pr); err != nil {
		return nil, nil // not as plimsoll writes it: it is overwritten
	}
	found := map[uint64]timestamp{}
	for _, res := range pr.Results {
		found[resultID(res)] = res.Timestamp
	}
	return &applied{found: found}, nil
}

// resultID identifies a result by everything but its timestamp.
func resultID(r result) uint64 {
	r.Timestamp = timestamp{}
	h := fnv.New64a()
	h.Write(mustJSON(r))
	return h.Sum64()
}

// list returns the resource version of every report labelled as
// plimsoll's, by report.
func (w *Writer) list(ctx context.Context) (map[reportKey]string, error) {
	namespaced, cluster := w.o.resources()
	out := map[reportKey]string{}
	for _, gvr := range []schema.GroupVersionResource{cluster, namespaced} {
		opts := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy, Limit: listPage}
		for {
			list, err := w.meta.Resource(gvr).List(ctx, opts)
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				return nil, fmt.Errorf("the cluster does not serve %s %s (install the CRD): %w", gvr.GroupVersion(), gvr.Resource, ErrNotInstalled)
			}
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
			}
			for _, item := range list.Items {
				k := reportKey{cluster: gvr == cluster, namespace: item.Namespace, name: item.Name}
				out[k] = item.ResourceVersion
			}
			if list.Continue == "" {
				break
			}
			opts.Continue = list.Continue
		}
	}
	return out, nil
}

func (w *Writer) resource(k reportKey) dynamic.ResourceInterface {
	namespaced, cluster := w.o.resources()
	if k.cluster {
		return w.dyn.Resource(cluster)
	}
	return w.dyn.Resource(namespaced).Namespace(k.namespace)
}

// describe names a report for errors: "PolicyReport shop/plimsoll".
func (w *Writer) describe(k reportKey) string {
	namespaced, cluster := w.o.kinds()
	if k.cluster {
		return cluster + " " + k.String()
	}
	return namespaced + " " + k.String()
}

// namespaceGone reports whether a write failed because its namespace does
// not exist or is being deleted.
func namespaceGone(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return true
	}
	d := status.Status().Details
	return apierrors.IsNotFound(err) && d != nil && d.Kind == "namespaces"
}

func sortedKeys(m map[reportKey]string) []reportKey {
	keys := make([]reportKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.cluster != b.cluster {
			return a.cluster
		}
		if a.namespace != b.namespace {
			return a.namespace < b.namespace
		}
		return a.name < b.name
	})
	return keys
}
