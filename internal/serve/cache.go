package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"sort"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// crdKey is the kind key of CustomResourceDefinitions: a change to one may
// add or remove a type to watch.
const crdKey = "CustomResourceDefinition.apiextensions.k8s.io"

// cache holds the cluster's objects of the wanted kinds: one shared
// informer per served type, each made and run on its own rather than
// through a dynamicinformer factory, because each has a life of its own: a
// refused type's informer stops while the others go on, and a discovery
// starts informers for new types. No informer is metadata-only: the checks read the spec or
// status of every kind they need but Namespace, and for Namespaces (a few
// hundred bytes each, a few dozen per cluster) a second code path would
// save nothing while a check that came to read their status would quietly
// see none. What keeps memory down is that the store holds each object
// decoded once, as the audit's typed object, instead of its JSON map.
type cache struct {
	dyn     dynamic.Interface
	disco   discovery.DiscoveryInterface
	server  string
	context string
	kinds   []string
	log     *slog.Logger
	// changed is told of every change to the cache; crdChanged of a change
	// to a CustomResourceDefinition.
	changed, crdChanged func()

	mu         sync.Mutex
	version    string
	discovered bool
	sources    map[string]*source // by kind key
	unread     []cluster.Unread   // types that discovery failed for
}

// source is the informer of one type.
type source struct {
	t        cluster.Type
	informer toolscache.SharedIndexInformer
	cancel   context.CancelFunc
	done     chan struct{}

	mu      sync.Mutex
	err     error // the last list or watch error
	refused bool  // the server refused to list the type; the informer is stopped
}

// entry is what an informer stores for an object: the object decoded for
// the audit, or why it could not be, under the metadata the store keys by.
// It is never changed once made, so it is its own deep copy.
type entry struct {
	metav1.ObjectMeta
	object *inventory.Object
	err    error
	// sum is the object's fingerprint: an update that keeps it is no
	// change to audit.
	sum uint64
}

func (e *entry) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (e *entry) DeepCopyObject() runtime.Object   { return e }

// discover finds the served types of the wanted kinds and makes the
// informers match: it starts those of new types and of types refused
// before, and stops those of types no longer served.
func (c *cache) discover(ctx context.Context) error {
	v, err := c.disco.ServerVersion()
	if err != nil {
		return fmt.Errorf("cannot reach the API server at %s: %w", c.server, err)
	}
	types, unread, err := cluster.Discover(c.disco, c.kinds)
	if err != nil {
		return fmt.Errorf("discovery at %s: %w", c.server, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version, c.unread, c.discovered = v.GitVersion, unread, true
	served := map[string]bool{}
	for _, t := range types {
		served[t.Key] = true
		old := c.sources[t.Key]
		if old != nil && old.t == t && !old.isRefused() {
			continue
		}
		if old != nil {
			old.stop()
		}
		c.sources[t.Key] = c.start(ctx, t)
	}
	for key, s := range c.sources {
		if !served[key] {
			s.stop()
			delete(c.sources, key)
		}
	}
	return nil
}

// start runs an informer for t. Objects pass through cluster.Prepare and
// inventory.New as they arrive, in the informer's transform, so the store
// never holds managedFields, the last-applied annotation or ConfigMap
// values, and each object is decoded once, not once per audit.
func (c *cache) start(ctx context.Context, t cluster.Type) *source {
	s := &source{t: t, done: make(chan struct{})}
	s.informer = dynamicinformer.NewFilteredDynamicInformer(c.dyn, t.GVR(), metav1.NamespaceAll, 0, toolscache.Indexers{}, nil).Informer()
	// Neither call fails before the informer runs.
	_ = s.informer.SetTransform(s.transform)
	_ = s.informer.SetWatchErrorHandler(func(_ *toolscache.Reflector, err error) { c.watchError(s, err) })
	notify := func() {
		c.changed()
		if t.Key == crdKey && s.informer.HasSynced() {
			c.crdChanged()
		}
	}
	_, _ = s.informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { notify() },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*entry)
			c, ok2 := cur.(*entry)
			if ok1 && ok2 && o.err == nil && c.err == nil && o.sum != 0 && o.sum == c.sum {
				return
			}
			notify()
		},
		DeleteFunc: func(any) { notify() },
	})
	ctx, s.cancel = context.WithCancel(ctx)
	go func() {
		defer close(s.done)
		s.informer.RunWithContext(ctx)
	}()
	return s
}

func (s *source) transform(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil // a tombstone, or an object already transformed
	}
	cluster.Prepare(s.t, u.Object)
	e := &entry{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName(), ResourceVersion: u.GetResourceVersion()}}
	o, err := inventory.New(u.Object, inventory.Source{Origin: "cluster"})
	if err != nil {
		e.err = cluster.DecodeError(s.t, u.Object, err)
	}
	e.object = o
	e.sum = fingerprint(u.Object)
	return e, nil
}

// seed keys the fingerprints of this process.
var seed = maphash.MakeSeed()

// fingerprint hashes what an audit can see of an object: all of it but
// metadata.resourceVersion, which every write changes, and the heartbeat
// times in a Node's conditions, which its kubelet rewrites every few
// minutes (kwok every 20 to 45 seconds) and no check reads. A hundred
// nodes' heartbeats would otherwise re-audit the cluster every Debounce. It
// leaves obj as it found it.
func fingerprint(obj map[string]any) uint64 {
	var restore []func()
	if meta, ok := obj["metadata"].(map[string]any); ok {
		if rv, ok := meta["resourceVersion"]; ok {
			delete(meta, "resourceVersion")
			restore = append(restore, func() { meta["resourceVersion"] = rv })
		}
	}
	if obj["kind"] == "Node" && obj["apiVersion"] == "v1" {
		status, _ := obj["status"].(map[string]any)
		conditions, _ := status["conditions"].([]any)
		for _, c := range conditions {
			if c, ok := c.(map[string]any); ok {
				if t, ok := c["lastHeartbeatTime"]; ok {
					delete(c, "lastHeartbeatTime")
					restore = append(restore, func() { c["lastHeartbeatTime"] = t })
				}
			}
		}
	}
	data, err := json.Marshal(obj)
	for _, r := range restore {
		r()
	}
	if err != nil {
		return 0 // unknown: every update is a change
	}
	return maphash.Bytes(seed, data)
}

// watchError records why a list or watch failed. A refusal stops the
// informer: listing again at client-go's pace would not change the
// server's mind, and the next discovery tries again. Other errors are left
// to the informer, which retries with backoff.
func (c *cache) watchError(s *source, err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		return // a watch that ended or expired: the informer lists again
	}
	s.mu.Lock()
	s.err = err
	refused := cluster.Refused(err) && !s.refused
	if refused {
		s.refused = true
	}
	s.mu.Unlock()
	if refused {
		c.log.Warn("cannot list "+s.t.Name()+"; its checks are not assessed until the next discovery", "reason", cluster.Reason(err))
		s.cancel()
	}
	c.changed()
}

func (s *source) isRefused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

func (s *source) stop() {
	s.cancel()
	<-s.done
}

// stop stops every informer.
func (c *cache) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sources {
		s.stop()
	}
}

// state counts the types by state, for metrics and readiness: synced
// (listed, and watched), syncing (not yet listed) and unread (refused,
// failing, or not discovered); refused counts the unread the server
// refused.
type state struct{ synced, syncing, unread, refused int }

func (c *cache) state() state {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := state{unread: len(c.unread)}
	for _, s := range c.sources {
		switch err, refused := s.status(); {
		case refused:
			st.unread++
			st.refused++
		case s.informer.HasSynced():
			st.synced++
		case err != nil:
			st.unread++
		default:
			st.syncing++
		}
	}
	return st
}

func (s *source) status() (error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err, s.refused
}

// snapshot returns the cluster as the informers hold it, or nil while
// discovery has not run or a type is still being listed for the first
// time.
func (c *cache) snapshot() *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.discovered {
		return nil
	}
	snap := &Snapshot{Header: cluster.Header{
		Context: c.context, Server: c.server, ServerVersion: c.version,
		Types: []cluster.Type{}, Unread: append([]cluster.Unread{}, c.unread...), Requested: c.kinds,
	}}
	var read []*source
	for _, s := range c.sources {
		err, refused := s.status()
		switch {
		case refused:
			snap.Header.Unread = append(snap.Header.Unread, cluster.Unread{Type: s.t, Reason: cluster.Reason(err)})
		case s.informer.HasSynced():
			read = append(read, s)
		case err != nil:
			snap.Header.Unread = append(snap.Header.Unread, cluster.Unread{Type: s.t, Reason: cluster.Reason(err)})
		default:
			return nil
		}
	}
	// Types, objects and errors in the order of a cluster read: by kind
	// key; within a type the store's order does not matter, as the
	// inventory sorts objects, but errors keep theirs in the report.
	sort.Slice(read, func(i, j int) bool { return read[i].t.Key < read[j].t.Key })
	sort.Slice(snap.Header.Unread, func(i, j int) bool { return snap.Header.Unread[i].Type.Key < snap.Header.Unread[j].Type.Key })
	for _, s := range read {
		snap.Header.Types = append(snap.Header.Types, s.t)
		var errs []error
		for _, x := range s.informer.GetStore().List() {
			e := x.(*entry)
			if e.err != nil {
				errs = append(errs, e.err)
				continue
			}
			snap.Objects = append(snap.Objects, e.object)
		}
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		snap.Errors = append(snap.Errors, errs...)
	}
	return snap
}
