// Package drillbench generates a large cluster, as a cluster read returns
// its objects, for the drill's benchmarks: nodes over three zones, and
// Deployments of ready pods placed on them with the shapes production
// clusters have (budgets, spreads over zones and hosts, anti-affinity,
// zonal volumes), so that every rule of the model is exercised at scale.
package drillbench

import (
	"fmt"
)

// Cluster returns the objects of a cluster of nodes nodes and about pods
// pods: Deployments of 10 replicas with their ReplicaSets, in namespaces of
// 20 Deployments each, and a StatefulSet with a zonal volume per
// namespace. Every pod is Ready and placed round-robin over the nodes.
func Cluster(nodes, pods int) []map[string]any {
	zones := []string{"zone-a", "zone-b", "zone-c"}
	var out []map[string]any
	for i := range nodes {
		name := fmt.Sprintf("node-%03d", i)
		zone := zones[i%len(zones)]
		out = append(out, obj("v1", "Node", "", name, map[string]any{
			"labels": map[string]any{"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone},
		}, map[string]any{
			"status": map[string]any{
				"allocatable": map[string]any{"cpu": "32", "memory": "128Gi", "pods": "150"},
				"conditions":  []any{map[string]any{"type": "Ready", "status": "True"}},
			},
		}))
	}
	next := 0
	place := func() string {
		n := fmt.Sprintf("node-%03d", next%nodes)
		next++
		return n
	}
	const replicas, perNamespace = 10, 20
	for d := 0; d*replicas < pods; d++ {
		ns := fmt.Sprintf("team-%03d", d/perNamespace)
		name := fmt.Sprintf("svc-%04d", d)
		spec := podSpec(name, d)
		out = append(out, workload("Deployment", ns, name, replicas, spec)...)
		rs := name + "-7c9f"
		out = append(out, obj("apps/v1", "ReplicaSet", ns, rs, owner("Deployment", name), map[string]any{
			"spec": map[string]any{"replicas": int64(replicas), "selector": selector(name), "template": template(name, spec)},
		}))
		for r := range replicas {
			out = append(out, pod(ns, fmt.Sprintf("%s-%d", rs, r), name, owner("ReplicaSet", rs), place(), spec))
		}
		switch d % 4 {
		case 0:
			out = append(out, pdb(ns, name, map[string]any{"maxUnavailable": int64(1)}))
		case 1:
			out = append(out, pdb(ns, name, map[string]any{"minAvailable": "60%"}))
		case 2:
			out = append(out, pdb(ns, name, map[string]any{"maxUnavailable": "25%", "unhealthyPodEvictionPolicy": "AlwaysAllow"}))
		}
		if d%perNamespace == 0 {
			out = append(out, statefulSet(ns, place)...)
		}
	}
	return out
}

// podSpec varies the placement rules by Deployment.
func podSpec(app string, d int) map[string]any {
	spec := map[string]any{
		"containers": []any{map[string]any{"name": "app", "image": "registry.example.com/app:1", "resources": map[string]any{
			"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
		}}},
	}
	sel := map[string]any{"matchLabels": map[string]any{"app": app}}
	switch d % 5 {
	case 0:
		spec["topologySpreadConstraints"] = []any{map[string]any{"maxSkew": int64(1), "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": sel}}
	case 1:
		spec["topologySpreadConstraints"] = []any{map[string]any{"maxSkew": int64(2), "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule", "nodeTaintsPolicy": "Honor", "labelSelector": sel}}
	case 2:
		spec["affinity"] = map[string]any{"podAntiAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": []any{
			map[string]any{"topologyKey": "kubernetes.io/hostname", "labelSelector": sel},
		}}}
	case 3:
		spec["volumes"] = []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}}
	}
	return spec
}

// statefulSet is a one-replica database with its data on a zonal volume.
func statefulSet(ns string, place func() string) []map[string]any {
	node := place()
	spec := map[string]any{
		"containers": []any{map[string]any{"name": "db", "image": "registry.example.com/db:1"}},
		"volumes":    []any{map[string]any{"name": "data", "persistentVolumeClaim": map[string]any{"claimName": "data-db-0"}}},
	}
	pv := ns + "-pv-db-0"
	return append(workload("StatefulSet", ns, "db", 1, spec),
		pod(ns, "db-0", "db", owner("StatefulSet", "db"), node, spec),
		obj("v1", "PersistentVolumeClaim", ns, "data-db-0", nil, map[string]any{
			"spec":   map[string]any{"volumeName": pv, "accessModes": []any{"ReadWriteOnce"}},
			"status": map[string]any{"phase": "Bound"},
		}),
		obj("v1", "PersistentVolume", "", pv, nil, map[string]any{"spec": map[string]any{
			"capacity": map[string]any{"storage": "10Gi"}, "accessModes": []any{"ReadWriteOnce"},
			"csi": map[string]any{"driver": "disk.csi.example.com", "volumeHandle": pv},
			"nodeAffinity": map[string]any{"required": map[string]any{"nodeSelectorTerms": []any{map[string]any{
				"matchExpressions": []any{map[string]any{"key": "kubernetes.io/hostname", "operator": "In", "values": []any{node}}},
			}}}},
		}}),
	)
}

func workload(kind, ns, name string, replicas int, spec map[string]any) []map[string]any {
	return []map[string]any{obj("apps/v1", kind, ns, name, nil, map[string]any{
		"spec": map[string]any{"replicas": int64(replicas), "selector": selector(name), "template": template(name, spec)},
	})}
}

func pod(ns, name, app string, meta map[string]any, node string, spec map[string]any) map[string]any {
	s := map[string]any{"nodeName": node}
	for k, v := range spec {
		s[k] = v
	}
	if meta == nil {
		meta = map[string]any{}
	}
	meta["labels"] = map[string]any{"app": app}
	return obj("v1", "Pod", ns, name, meta, map[string]any{
		"spec": s,
		"status": map[string]any{"phase": "Running", "conditions": []any{
			map[string]any{"type": "Ready", "status": "True"},
		}},
	})
}

func pdb(ns, app string, spec map[string]any) map[string]any {
	spec["selector"] = selector(app)
	return obj("policy/v1", "PodDisruptionBudget", ns, app, nil, map[string]any{"spec": spec})
}

func owner(kind, name string) map[string]any {
	return map[string]any{"ownerReferences": []any{map[string]any{
		"apiVersion": "apps/v1", "kind": kind, "name": name, "controller": true,
	}}}
}

func selector(app string) map[string]any {
	return map[string]any{"matchLabels": map[string]any{"app": app}}
}

func template(app string, spec map[string]any) map[string]any {
	return map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": app}}, "spec": spec}
}

// obj makes an object of a kind with more metadata and top-level fields.
func obj(apiVersion, kind, ns, name string, meta, fields map[string]any) map[string]any {
	m := map[string]any{"name": name}
	if ns != "" {
		m["namespace"] = ns
	}
	for k, v := range meta {
		m[k] = v
	}
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": m}
	for k, v := range fields {
		o[k] = v
	}
	return o
}
