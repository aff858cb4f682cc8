package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/report"
)

// Cluster is a live cluster to read, and how to read it.
type Cluster struct {
	// Connect reaches the cluster. It is called only when the cluster is
	// read, so that reading manifests or a snapshot needs no kubeconfig,
	// and its error is the read's.
	Connect func() (*Connection, error)
	// Kinds are the kind keys to list (see Kinds).
	Kinds []string
	// PageSize is how many objects one LIST request asks for, Concurrency
	// how many resource types are listed at once; 0 means the defaults of
	// internal/cluster.
	PageSize    int64
	Concurrency int
	// Progress, if set, shows which types are being listed and how many
	// objects were read, on one line that it rewrites as the read goes
	// and clears when it ends: it is meant for a terminal.
	Progress io.Writer
}

// Connection is how Cluster.Connect reached a cluster.
type Connection struct {
	// Config is the client configuration.
	Config *rest.Config
	// Context is the name of the kubeconfig context, for the report; ""
	// in a pod.
	Context string
	// Namespace limits the read to one namespace; "" reads them all.
	Namespace string
}

// Snapshot reads from c what an audit of it reads, and writes it, as it
// was listed and never decoded, to path: JSON, gzipped when path ends in
// .gz. It stamps the snapshot with the time the read ended, to the second
// and in UTC: a Read of the snapshot judges ages at that time. It returns
// the snapshot's header, which lists the types read and those that could
// not be, and how many objects the snapshot holds. A type that could not
// be read is no error: the snapshot is written and says so.
func Snapshot(ctx context.Context, c Cluster, path string, now func() time.Time) (cluster.Header, int, error) {
	res, h, err := readCluster(ctx, c, func(_ cluster.Type, obj map[string]any) (map[string]any, error) {
		return obj, nil
	})
	if err != nil {
		return h, 0, err
	}
	h.Created = clock(now)().UTC().Truncate(time.Second)
	if err := cluster.WriteSnapshot(path, h, res.Items); err != nil {
		return h, 0, fmt.Errorf("write snapshot: %w", err)
	}
	return h, len(res.Items), nil
}

// readCluster reads c's kinds, decoding each object with decode, and
// describes the read.
func readCluster[T any](ctx context.Context, c Cluster, decode cluster.Decode[T]) (*cluster.Result[T], cluster.Header, error) {
	var h cluster.Header
	if c.Connect == nil {
		return nil, h, errors.New("nothing to read: no manifests, no snapshot and no cluster")
	}
	conn, err := c.Connect()
	if err != nil {
		return nil, h, err
	}
	opts := cluster.Options{Config: conn.Config, Namespace: conn.Namespace, Kinds: c.Kinds, PageSize: c.PageSize, Concurrency: c.Concurrency}
	var p *progressLine
	if c.Progress != nil {
		p = &progressLine{w: c.Progress}
		opts.Progress = p.update
	}
	res, err := cluster.Read(ctx, opts, decode)
	p.clear()
	if err != nil {
		return nil, h, err
	}
	return res, res.Header(conn.Context, conn.Namespace), nil
}

// clusterInputs turns what a cluster read (live, from a snapshot, or from
// serve's cache) into Inputs: kinds that could not be read make the checks
// that need them not assessed, and the ones that failed (rather than being
// out of the namespace's scope) make the run partial.
func clusterInputs(header cluster.Header, objs []*inventory.Object, decodeErrs []error, origin string) *Inputs {
	in := &Inputs{
		Mode:       inventory.FromCluster,
		Objects:    objs,
		Unreadable: maps.Clone(NeverRead),
		Cluster: &report.Cluster{
			Server: header.Server, Version: header.ServerVersion, Context: header.Context,
			Namespace: header.Namespace,
		},
		Sources:   []string{origin},
		At:        header.Created,
		Namespace: header.Namespace,
	}
	in.Objects = append(in.Objects, inventory.ClusterObject(inventory.ClusterInfo{
		Server: header.Server, Version: header.ServerVersion, Context: header.Context,
	}))
	zones := map[string]bool{}
	for _, o := range objs {
		if o.KindKey() == "Node" {
			in.Cluster.Nodes++
			if z, ok := o.Label(corev1.LabelTopologyZone); ok {
				zones[z] = true
			}
		}
	}
	in.Cluster.Zones = append([]string{}, slices.Sorted(maps.Keys(zones))...) // never null in JSON
	if header.Requested != nil {
		in.Requested = map[string]bool{}
		for _, k := range header.Requested {
			in.Requested[k] = true
		}
	}
	in.Listed = map[string]bool{}
	for _, t := range header.Types {
		in.Listed[t.Key] = true
	}
	for _, u := range header.Unread {
		in.Listed[u.Type.Key] = true
		in.Unreadable[u.Type.Key] = u.Why()
		if !u.OutOfScope {
			in.Errors = append(in.Errors, report.InputError{Object: u.Type.Name(), Message: "cannot list: " + u.Reason})
		}
	}
	for _, e := range decodeErrs {
		in.Errors = append(in.Errors, report.InputError{Message: e.Error()})
	}
	return in
}

// progressLine shows which types are being listed and how many objects
// were read, on one line it rewrites.
type progressLine struct {
	w     io.Writer
	shown bool
}

func (p *progressLine) update(pr cluster.Progress) {
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[Kreading the cluster: %d/%d resource types, %d objects (%s)", pr.TypesDone, pr.Types, pr.Objects, pr.Listing)
}

func (p *progressLine) clear() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
