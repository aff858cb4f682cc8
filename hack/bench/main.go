// Command bench measures plimsoll on a large manifest corpus and prints the
// wall time, CPU time and peak memory of: the full audit with every check,
// decoding the same YAML alone, and kube-score on the same files, all in one
// run on the same machine.
//
// It multiplies ../shared/corpus (real public manifests) until it holds
// about -objects objects, giving every copy its own namespaces and
// cluster-scoped names, so the copies are distinct objects rather than
// duplicates.
//
//	go run ./hack/bench                 # about 20,000 objects
//	go run ./hack/bench -objects 5000 -runs 5
//
// With -custom it measures what custom checks written in CEL cost: the
// audit with every built-in check, and the same with fifty custom checks
// besides (internal/checks/custom/custombench), taking turns.
//
//	go run ./hack/bench -custom -runs 5
//
// With -drill it measures plimsoll drill instead, on a generated snapshot
// of 100 nodes and 10,000 pods (internal/drill/drillbench): an upgrade of
// every node one at a time (100 waves) and the loss of each of the three
// zones, each a run of the binary, and the four together.
//
//	go run ./hack/bench -drill
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/checks/custom/custombench"
	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/drill/drillbench"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

const kubeScore = "github.com/zegl/kube-score/cmd/kube-score@v1.20.0"

func main() {
	if len(os.Args) > 2 && os.Args[1] == "decode" {
		// The decode-only run: read and decode every file, nothing else.
		res := manifest.Load(context.Background(), os.Args[2:], manifest.Options{})
		fmt.Fprintf(os.Stderr, "decoded %d objects, %d errors\n", len(res.Objects), len(res.Errors))
		return
	}
	corpus := flag.String("corpus", "../shared/corpus", "real manifests to multiply")
	objects := flag.Int("objects", 20000, "about how many objects the multiplied corpus holds")
	runs := flag.Int("runs", 3, "runs of each measurement; the best is reported")
	work := flag.String("dir", "hack/.bench", "working directory for the corpus and binaries")
	skipKubeScore := flag.Bool("no-kube-score", false, "do not run kube-score")
	drills := flag.Bool("drill", false, "measure plimsoll drill on a generated snapshot of 100 nodes and 10,000 pods instead")
	customChecks := flag.Bool("custom", false, "measure the audit with and without fifty custom checks written in CEL instead")
	flag.Parse()
	var err error
	switch {
	case *drills:
		err = runDrills(*runs, *work)
	case *customChecks:
		err = runCustom(*corpus, *objects, *runs, *work)
	default:
		err = run(*corpus, *objects, *runs, *work, *skipKubeScore)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(corpus string, objects, runs int, work string, skipKubeScore bool) error {
	work, _ = filepath.Abs(work)
	dir := filepath.Join(work, "corpus")
	bin := filepath.Join(work, "bin")
	n, files, err := multiply(corpus, dir, objects)
	if err != nil {
		return err
	}
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	fmt.Printf("corpus: %d objects in %d files, %.1f MB (%s multiplied)\n", n, len(files), float64(size)/1e6, corpus)
	fmt.Printf("machine: %d CPUs, %s\n\n", runtime.NumCPU(), runtime.Version())

	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	plimsoll := filepath.Join(bin, "plimsoll")
	self := filepath.Join(bin, "bench")
	if err := goBuild(plimsoll, "./cmd/plimsoll"); err != nil {
		return err
	}
	if err := goBuild(self, "./hack/bench"); err != nil {
		return err
	}
	type benchCase struct {
		name string
		argv []string
		env  []string
	}
	cases := []benchCase{
		{name: "plimsoll audit (every check)", argv: []string{plimsoll, "audit", dir, "-o", "json"}},
		{name: "decode only (plimsoll's loader)", argv: []string{self, "decode", dir}},
	}
	const audit, decode = 0, 1 // cases' indexes
	kubeScore := -1
	if !skipKubeScore {
		kubeScore = len(cases)
		ks, err := ensureKubeScore(bin)
		if err != nil {
			return err
		}
		cases = append(cases, benchCase{name: "kube-score v1.20.0 score", argv: append([]string{ks, "score", "--output-format", "ci"}, files...)})
	}
	// plimsoll fix plans, proves and edits (as a diff) every fixable finding.
	cases = append(cases, benchCase{name: "plimsoll fix (the diff)", argv: []string{plimsoll, "fix", dir}})
	// plimsoll fix --overlay over the same objects as a Kustomize base (the
	// objects a copy of the corpus declares twice, as alternative installs
	// of one app do, once: a base builds each object once).
	base := filepath.Join(work, "base")
	if err := kustomizeBase(files, base); err != nil {
		return err
	}
	overlay := filepath.Join(work, "fixes")
	cases = append(cases, benchCase{name: "plimsoll fix --overlay", argv: []string{"sh", "-c", `rm -rf "$1" && exec "$2" fix "$3" --overlay "$1"`, "sh", overlay, plimsoll, base}})
	// Setting GOGC turns plimsoll's memory bound (internal/memory) off:
	// this row shows what the bound costs and saves.
	unbound := len(cases)
	cases = append(cases, benchCase{name: "plimsoll audit, GOGC=100", argv: cases[audit].argv, env: []string{"GOGC=100"}})
	// The cases take turns, one run of each per round, so that each sees the
	// same machine: on a shared machine speed drifts by a fifth from one
	// minute to the next, and a case measured in a slow minute would lose.
	best := make([]measurement, len(cases))
	all := make([][]time.Duration, len(cases))
	for i := range best {
		best[i].wall = time.Hour
	}
	for round := 0; round < runs; round++ {
		for i, c := range cases {
			m, err := measure(c.argv, c.env)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			all[i] = append(all[i], m.wall)
			if m.wall < best[i].wall {
				best[i] = m
			}
		}
	}
	fmt.Printf("%-34s %9s %9s %9s %9s\n", "run (best of "+fmt.Sprint(runs)+")", "wall", "median", "cpu", "peak RSS")
	for i, c := range cases {
		fmt.Printf("%-34s %8.2fs %8.2fs %8.2fs %7d MB\n", c.name, best[i].wall.Seconds(), median(all[i]).Seconds(), best[i].cpu.Seconds(), best[i].rss>>20)
	}
	if !skipKubeScore {
		ratio := func(a, b int) float64 { return best[a].wall.Seconds() / best[b].wall.Seconds() }
		fmt.Printf("\nplimsoll audit is %.1fx faster than kube-score (%.1fx with GOGC=100); %.2fx the decode-only time\n",
			ratio(kubeScore, audit), ratio(kubeScore, unbound), ratio(audit, decode))
	}
	return nil
}

// runCustom measures the audit of the multiplied corpus with every
// built-in check, and with custombench's fifty custom checks besides.
func runCustom(corpus string, objects, runs int, work string) error {
	work, _ = filepath.Abs(work)
	dir := filepath.Join(work, "corpus")
	n, files, err := multiply(corpus, dir, objects)
	if err != nil {
		return err
	}
	checksDir := filepath.Join(work, "custom-checks")
	if err := os.RemoveAll(checksDir); err != nil {
		return err
	}
	if err := custombench.Write(checksDir); err != nil {
		return err
	}
	plimsoll := filepath.Join(work, "bin", "plimsoll")
	if err := goBuild(plimsoll, "./cmd/plimsoll"); err != nil {
		return err
	}
	fmt.Printf("corpus: %d objects in %d files (%s multiplied); %d custom checks\n", n, len(files), corpus, custombench.Count)
	fmt.Printf("machine: %d CPUs, %s\n\n", runtime.NumCPU(), runtime.Version())
	names := []string{"plimsoll audit (every built-in check)", fmt.Sprintf("the same with %d custom checks", custombench.Count)}
	argvs := [][]string{
		{plimsoll, "audit", dir, "-o", "json"},
		{plimsoll, "audit", dir, "-o", "json", "--checks", checksDir},
	}
	best := make([]measurement, len(argvs))
	all := make([][]time.Duration, len(argvs))
	for round := 0; round < runs; round++ {
		for i, argv := range argvs {
			m, err := measure(argv, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", names[i], err)
			}
			all[i] = append(all[i], m.wall)
			if round == 0 || m.wall < best[i].wall {
				best[i] = m
			}
		}
	}
	fmt.Printf("%-40s %9s %9s %9s %9s\n", "run (best of "+fmt.Sprint(runs)+")", "wall", "median", "cpu", "peak RSS")
	for i, name := range names {
		fmt.Printf("%-40s %8.2fs %8.2fs %8.2fs %7d MB\n", name, best[i].wall.Seconds(), median(all[i]).Seconds(), best[i].cpu.Seconds(), best[i].rss>>20)
	}
	fmt.Printf("\nthe custom checks add %+.0f%% wall (best), %+.0f%% (median), %+.0f%% CPU, %+d MB peak RSS\n",
		100*(best[1].wall.Seconds()/best[0].wall.Seconds()-1), 100*(median(all[1]).Seconds()/median(all[0]).Seconds()-1),
		100*(best[1].cpu.Seconds()/best[0].cpu.Seconds()-1), (best[1].rss-best[0].rss)>>20)
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

type measurement struct {
	wall, cpu time.Duration
	rss       int64
}

// measure runs a command and reads its wall time, its CPU time (user and
// system: more than the wall time means more than one core was used) and
// its peak resident memory from the kernel's accounting.
func measure(argv, env []string) (measurement, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		return measurement{}, err
	}
	// Audits that find failures exit 0 or 1; kube-score exits 1 on
	// findings. Only a crash or a partial run is an error here.
	if code := cmd.ProcessState.ExitCode(); code > 1 {
		return measurement{}, fmt.Errorf("exit %d: %s", code, lastLines(stderr.String(), 5))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return measurement{
		wall: wall,
		cpu:  cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		rss:  ru.Maxrss << 10, // kilobytes on Linux
	}, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func ensureKubeScore(bin string) (string, error) {
	path := filepath.Join(bin, "kube-score")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	fmt.Fprintln(os.Stderr, "installing", kubeScore)
	cmd := exec.Command("go", "install", kubeScore)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return path, cmd.Run()
}

// multiply writes copies of every corpus file into dir until the copies
// hold at least target objects. Copy i puts every namespaced object in a
// namespace of its own ("<namespace>-c<i>", or "corpus-c<i>" for objects
// that name none) and suffixes cluster-scoped names, so no two copies
// declare the same object. It returns the object count and the files.
func multiply(corpus, dir string, target int) (int, []string, error) {
	var sources []string
	err := filepath.WalkDir(corpus, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			switch filepath.Ext(p) {
			case ".yaml", ".yml", ".json":
				sources = append(sources, p)
			}
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	sort.Strings(sources)
	// A file plimsoll refuses (the corpus holds three the API server would
	// refuse) is left out: the audit is to be measured whole, not partial.
	perCopy := 0
	readable := sources[:0]
	for _, s := range sources {
		data, err := os.ReadFile(s)
		if err != nil {
			return 0, nil, err
		}
		res := manifest.Parse(s, data, inventory.Source{})
		if len(res.Errors) > 0 {
			fmt.Fprintf(os.Stderr, "bench: leaving out %s: %v\n", s, res.Errors[0])
			continue
		}
		readable = append(readable, s)
		perCopy += len(res.Objects)
	}
	sources = readable
	if perCopy == 0 {
		return 0, nil, fmt.Errorf("no objects in %s", corpus)
	}
	copies := (target + perCopy - 1) / perCopy
	// The stamp names the copies' layout too, so a change to rename
	// rewrites them.
	stamp := filepath.Join(dir, fmt.Sprintf(".copies-%d-%d-%d-compact", copies, perCopy, len(sources)))
	var files []string
	for i := 1; i <= copies; i++ {
		for _, s := range sources {
			rel, _ := filepath.Rel(corpus, s)
			files = append(files, filepath.Join(dir, fmt.Sprintf("c%03d", i), strings.ReplaceAll(rel, string(filepath.Separator), "__")+".yaml"))
		}
	}
	if _, err := os.Stat(stamp); err == nil {
		return copies * perCopy, files, nil // already written
	}
	if err := os.RemoveAll(dir); err != nil {
		return 0, nil, err
	}
	k := 0
	for i := 1; i <= copies; i++ {
		for _, s := range sources {
			data, err := os.ReadFile(s)
			if err != nil {
				return 0, nil, err
			}
			out, err := rename(data, fmt.Sprintf("-c%d", i))
			if err != nil {
				return 0, nil, fmt.Errorf("%s: %w", s, err)
			}
			if err := os.MkdirAll(filepath.Dir(files[k]), 0o755); err != nil {
				return 0, nil, err
			}
			if err := os.WriteFile(files[k], out, 0o644); err != nil {
				return 0, nil, err
			}
			k++
		}
	}
	return copies * perCopy, files, os.WriteFile(stamp, nil, 0o644)
}

// kustomizeBase writes the files of the multiplied corpus again into dir,
// each object once, with a kustomization.yaml listing them. It is rewritten
// when the corpus is.
func kustomizeBase(files []string, dir string) error {
	stamp := filepath.Join(dir, fmt.Sprintf(".files-%d", len(files)))
	if _, err := os.Stat(stamp); err == nil {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	seen := map[string]bool{}
	var k bytes.Buffer
	k.WriteString("resources:\n")
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		var out bytes.Buffer
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		enc.CompactSeqIndent()
		n := 0
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				break
			}
			if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
				continue
			}
			obj := doc.Content[0]
			meta := field(obj, "metadata")
			if meta == nil || scalar(meta, "name") == "" || strings.HasSuffix(scalar(obj, "kind"), "List") {
				continue
			}
			id := strings.Join([]string{scalar(obj, "apiVersion"), scalar(obj, "kind"), scalar(meta, "namespace"), scalar(meta, "name")}, "/")
			if seen[id] {
				continue
			}
			seen[id] = true
			if err := enc.Encode(&doc); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			continue // an encoder that wrote nothing has no stream to close
		}
		if err := enc.Close(); err != nil {
			return err
		}
		name := fmt.Sprintf("f%05d.yaml", i)
		if err := os.WriteFile(filepath.Join(dir, name), out.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&k, "  - %s\n", name)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), k.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(stamp, nil, 0o644)
}

// rename rewrites every document of a YAML stream for one copy. The
// layout is yaml.v3's, with sequences written compactly like the corpus's.
func rename(data []byte, suffix string) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	// Sequences at their key's indent, as kubectl, Helm and kustomize
	// write them, and as the corpus's files are.
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				break
			}
			return nil, err
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		renameObject(doc.Content[0], suffix)
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), enc.Close()
}

func renameObject(obj *yaml.Node, suffix string) {
	kind := scalar(obj, "kind")
	if strings.HasSuffix(kind, "List") {
		if items := field(obj, "items"); items != nil {
			for _, it := range items.Content {
				renameObject(it, suffix)
			}
		}
		return
	}
	meta := field(obj, "metadata")
	if meta == nil {
		return
	}
	switch {
	case kind == "Namespace" || inventory.IsClusterScoped(kind):
		if n := field(meta, "name"); n != nil {
			n.Value += suffix
		}
	default:
		if ns := field(meta, "namespace"); ns != nil {
			ns.Value += suffix
		} else {
			meta.Content = append(meta.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Value: "namespace"},
				&yaml.Node{Kind: yaml.ScalarNode, Value: "corpus" + suffix})
		}
	}
}

func field(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(m *yaml.Node, key string) string {
	if n := field(m, key); n != nil {
		return n.Value
	}
	return ""
}

// runDrills measures the drills of the speed figure through the
// binary, each case a run, best of runs; the total is the sum of the best
// wall times and the largest peak.
func runDrills(runs int, work string) error {
	work, _ = filepath.Abs(work)
	bin := filepath.Join(work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	plimsoll := filepath.Join(bin, "plimsoll")
	if err := goBuild(plimsoll, "./cmd/plimsoll"); err != nil {
		return err
	}
	snap := filepath.Join(work, "drill-snapshot.json.gz")
	items := drillbench.Cluster(100, 10000)
	h := cluster.Header{Created: time.Now().UTC(), Context: "bench", Server: "https://bench.invalid", ServerVersion: "v1.36.0", Requested: drill.Kinds}
	if err := cluster.WriteSnapshot(snap, h, items); err != nil {
		return err
	}
	fmt.Printf("snapshot: %d objects, 100 nodes, 10,000 pods of Deployments and a StatefulSet per namespace\n", len(items))
	fmt.Printf("machine: %d CPUs, %s\n\n", runtime.NumCPU(), runtime.Version())
	cases := [][]string{
		{"drill", "upgrade", "--max-unavailable", "1"},
		{"drill", "zone", "zone-a"}, {"drill", "zone", "zone-b"}, {"drill", "zone", "zone-c"},
	}
	fmt.Printf("%-40s %9s %9s %9s\n", "run (best of "+fmt.Sprint(runs)+")", "wall", "cpu", "peak RSS")
	var total time.Duration
	var peak int64
	for _, c := range cases {
		best := measurement{wall: time.Hour}
		for range runs {
			m, err := measure(append(append([]string{plimsoll}, c...), "--snapshot", snap, "--max-age", "1000h", "-o", "json"), nil)
			if err != nil {
				return fmt.Errorf("%s: %w", strings.Join(c, " "), err)
			}
			if m.wall < best.wall {
				best = m
			}
		}
		total += best.wall
		peak = max(peak, best.rss)
		fmt.Printf("%-40s %8.2fs %8.2fs %7d MB\n", strings.Join(c, " "), best.wall.Seconds(), best.cpu.Seconds(), best.rss>>20)
	}
	fmt.Printf("%-40s %8.2fs %9s %7d MB\n", "together", total.Seconds(), "", peak>>20)
	return nil
}
