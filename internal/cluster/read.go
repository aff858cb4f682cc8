// Package cluster reads what an audit needs from a live cluster: discovery
// first, then one paged LIST per resource type, concurrently and with
// bounded memory. It never reads Secrets. Types the API server refuses or
// fails to list are reported, so that the checks needing them are shown as
// not assessed instead of passing; an API server that stops answering ends
// the read with an error.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Defaults for Options.
const (
	DefaultPageSize    = 500
	DefaultConcurrency = 6
	// restarts is how often a type's list starts over after its continue
	// token expired (410 Gone) before the type counts as failed.
	restarts = 3
)

// Options say what to read and how.
type Options struct {
	Config *rest.Config
	// Namespace limits the read to one namespace; "" reads all of them.
	// Cluster-scoped types are then out of scope and not listed, except
	// the Namespace itself, which is fetched by name.
	Namespace string
	// Kinds are the kind keys to read, as checks name them (see
	// inventory.Object.KindKey): "Deployment", "Certificate.cert-manager.io".
	Kinds []string
	// PageSize is the limit of each LIST request.
	PageSize int64
	// Concurrency is how many types are listed at once.
	Concurrency int
	// Progress, when set, is called as types are listed. Calls are
	// serialised.
	Progress func(Progress)
}

// Progress is a running count of the read.
type Progress struct {
	Types, TypesDone int
	Objects          int
	// Listing is the type whose page just arrived.
	Listing string
}

// Type is one resource type that was listed or meant to be.
type Type struct {
	// Key is the kind key checks know the kind by.
	Key        string `json:"kind"`
	Group      string `json:"group,omitempty"`
	Version    string `json:"version"`
	Resource   string `json:"resource"`
	Namespaced bool   `json:"namespaced"`
}

// Name is the resource as kubectl names it: deployments.apps, pods.
func (t Type) Name() string {
	if t.Group == "" {
		return t.Resource
	}
	return t.Resource + "." + t.Group
}

// GVR is the type's group, version and resource, as clients address it.
func (t Type) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource}
}

// Unread says why a type could not be read.
type Unread struct {
	Type Type `json:"type"`
	// Reason is short: "forbidden", "not found", "timeout", or the
	// server's message.
	Reason string `json:"reason"`
	// OutOfScope marks a type left out on purpose (a cluster-scoped type
	// in a namespace-limited read): no error, but nothing seen either.
	OutOfScope bool `json:"outOfScope,omitempty"`
}

// Why is the sentence reports show for checks that needed the type.
func (u Unread) Why() string {
	return "cannot list " + u.Type.Name() + " (" + u.Reason + ")"
}

// Result is what a read produced.
type Result[T any] struct {
	// Server is the API server's URL and ServerVersion its version.
	Server        string
	ServerVersion string
	// Items are the decoded objects, grouped by type in Types order.
	Items []T
	// Types are the types read in full, sorted by kind key.
	Types []Type
	// Unread are the types that could not be read, sorted by kind key.
	Unread []Unread
	// Errors are objects that were read but could not be decoded.
	Errors []error
	// Requested are the kind keys the read asked for (Options.Kinds).
	Requested []string
}

// Header describes the read for a snapshot or a report.
func (r *Result[T]) Header(context, namespace string) Header {
	return Header{
		Context: context, Server: r.Server, ServerVersion: r.ServerVersion,
		Namespace: namespace, Types: r.Types, Unread: r.Unread, Requested: r.Requested,
	}
}

// Decode turns one object, as the API server sent it less managedFields,
// the last-applied annotation and any ConfigMap values, into what the
// caller keeps.
type Decode[T any] func(Type, map[string]any) (T, error)

// ErrLost wraps the error of a read that lost the API server: its answers
// cannot be trusted to be complete.
var ErrLost = errors.New("lost the API server")

// Read discovers the types behind opts.Kinds and lists them.
func Read[T any](ctx context.Context, opts Options, decode Decode[T]) (*Result[T], error) {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	disco, err := discovery.NewDiscoveryClientForConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	res := &Result[T]{Server: opts.Config.Host, Requested: opts.Kinds}
	version, err := disco.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("cannot reach the API server at %s: %w", opts.Config.Host, err)
	}
	res.ServerVersion = version.GitVersion
	types, unread, err := Discover(disco, opts.Kinds)
	if err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", opts.Config.Host, err)
	}

	r := &reader[T]{opts: opts, dyn: dyn, decode: decode}
	r.progress.Types = len(types)
	lists := make([]typeList[T], len(types))
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, t := range types {
		lists[i].t = t
		if opts.Namespace != "" && !t.Namespaced && t.Key != "Namespace" {
			lists[i].unread = &Unread{Type: t, Reason: "cluster-scoped, outside namespace " + opts.Namespace, OutOfScope: true}
			r.done(t, 0)
			continue
		}
		wg.Add(1)
		go func(l *typeList[T]) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				l.err = ctx.Err()
				return
			}
			r.list(ctx, l)
		}(&lists[i])
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var lost []string
	for i := range lists {
		l := &lists[i]
		switch {
		case l.err != nil:
			lost = append(lost, fmt.Sprintf("%s: %v", l.t.Name(), l.err))
		case l.unread != nil:
			unread = append(unread, *l.unread)
		default:
			res.Types = append(res.Types, l.t)
			res.Items = append(res.Items, l.items...)
			res.Errors = append(res.Errors, l.errs...)
		}
	}
	if len(lost) > 0 {
		// A type failed for a reason other than a refusal. If the server
		// still answers, only those types are unread; if it does not,
		// nothing read can be trusted to be whole.
		if _, err := disco.ServerVersion(); err != nil {
			return nil, fmt.Errorf("%w at %s while listing: %s", ErrLost, opts.Config.Host, strings.Join(lost, "; "))
		}
		for i := range lists {
			if l := &lists[i]; l.err != nil {
				unread = append(unread, Unread{Type: l.t, Reason: Reason(l.err)})
			}
		}
	}
	sort.Slice(unread, func(i, j int) bool { return unread[i].Type.Key < unread[j].Type.Key })
	res.Unread = unread
	return res, nil
}

type typeList[T any] struct {
	t      Type
	items  []T
	errs   []error
	unread *Unread
	// err is a failure that may mean the server is going away: a broken
	// connection, a timeout, a 5xx.
	err error
}

type reader[T any] struct {
	opts   Options
	dyn    dynamic.Interface
	decode Decode[T]

	mu       sync.Mutex
	progress Progress
}

func (r *reader[T]) done(t Type, objects int) {
	r.report(t, objects, true)
}

func (r *reader[T]) report(t Type, objects int, done bool) {
	if r.opts.Progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress.Objects += objects
	r.progress.Listing = t.Name()
	if done {
		r.progress.TypesDone++
	}
	r.opts.Progress(r.progress)
}

// list reads one type, page by page. A 410 Gone on a continue token (the
// server compacted past the list's snapshot) starts the list over, as
// partial pages from two snapshots would not be one consistent list.
func (r *reader[T]) list(ctx context.Context, l *typeList[T]) {
	if l.t.Key == "Namespace" && r.opts.Namespace != "" {
		r.getNamespace(ctx, l)
		return
	}
	res := r.dyn.Resource(l.t.GVR())
	var client dynamic.ResourceInterface = res
	if l.t.Namespaced && r.opts.Namespace != "" {
		client = res.Namespace(r.opts.Namespace)
	}
	for attempt := 0; ; attempt++ {
		l.items, l.errs = nil, nil
		cont := ""
		for {
			page, err := client.List(ctx, metav1.ListOptions{Limit: r.opts.PageSize, Continue: cont})
			if err != nil {
				if cont != "" && apierrors.IsResourceExpired(err) && attempt < restarts {
					break // start over
				}
				r.fail(l, err)
				r.done(l.t, 0)
				return
			}
			r.add(l, page)
			r.report(l.t, len(page.Items), false)
			cont = page.GetContinue()
			if cont == "" {
				r.done(l.t, 0)
				return
			}
		}
	}
}

// getNamespace reads the one Namespace of a namespace-limited read: a user
// with a Role in it may get it but not list Namespaces.
func (r *reader[T]) getNamespace(ctx context.Context, l *typeList[T]) {
	ns, err := r.dyn.Resource(l.t.GVR()).Get(ctx, r.opts.Namespace, metav1.GetOptions{})
	if err != nil {
		r.fail(l, err)
	} else {
		r.add(l, &unstructured.UnstructuredList{Items: []unstructured.Unstructured{*ns}})
	}
	r.done(l.t, len(l.items))
}

func (r *reader[T]) add(l *typeList[T], page *unstructured.UnstructuredList) {
	for i := range page.Items {
		obj := page.Items[i].Object
		page.Items[i].Object = nil
		Prepare(l.t, obj)
		v, err := r.decode(l.t, obj)
		if err != nil {
			l.errs = append(l.errs, DecodeError(l.t, obj, err))
			continue
		}
		l.items = append(l.items, v)
	}
}

// Prepare readies an object of type t, as a LIST or WATCH of t returned
// it, for decoding: it fills in the apiVersion and kind that list items may
// leave to their list, and trims it (Trim). Every object a cluster read or
// plimsoll serve keeps has passed through it.
func Prepare(t Type, obj map[string]any) {
	if obj["apiVersion"] == nil {
		obj["apiVersion"] = schema.GroupVersion{Group: t.Group, Version: t.Version}.String()
	}
	if obj["kind"] == nil {
		obj["kind"] = kindOf(t.Key)
	}
	Trim(obj)
}

// DecodeError is the error reported for an object of type t that was read
// but could not be decoded.
func DecodeError(t Type, obj map[string]any, err error) error {
	return fmt.Errorf("%s %s: %w", t.Name(), objectName(obj), err)
}

// fail records why a type could not be listed. A refusal (forbidden, not
// found, unauthorized) is the server's answer about that type. Anything
// else (a 5xx, a timeout, a broken connection) may mean the server is going
// away, which Read finds out before trusting the rest.
func (r *reader[T]) fail(l *typeList[T], err error) {
	if Refused(err) || apierrors.IsResourceExpired(err) {
		l.unread = &Unread{Type: l.t, Reason: Reason(err)}
		return
	}
	l.err = err
}

// Reason is the short form of why a list failed, as Unread.Reason gives it.
func Reason(err error) string {
	switch {
	case apierrors.IsForbidden(err):
		return "forbidden"
	case apierrors.IsNotFound(err), apierrors.IsMethodNotSupported(err):
		return "not found"
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err), errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout"
	case apierrors.IsTooManyRequests(err):
		return "throttled"
	case apierrors.IsResourceExpired(err):
		return "list expired repeatedly"
	case apierrors.IsUnauthorized(err):
		return "unauthorized"
	}
	return err.Error()
}

// Refused reports whether err is the API server's refusal to list a type
// (forbidden, not found, unauthorized): an answer about that type, not a
// sign that the server is going away.
func Refused(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsUnauthorized(err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func objectName(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	return name
}

func kindOf(key string) string {
	kind, _, _ := strings.Cut(key, ".")
	return kind
}
