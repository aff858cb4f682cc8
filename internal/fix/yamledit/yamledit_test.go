package yamledit

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// path is a field path written "spec.containers[name=web].ports[0]"; keys
// are its dotted parts, then each of more, whole (a label's key has dots).
func path(s string, more ...string) []fix.Step {
	var steps []fix.Step
	for _, part := range strings.Split(s, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			steps = append(steps, fix.Step{Key: key})
		}
		for rest != "" {
			var sel string
			sel, rest, _ = strings.Cut(rest, "]")
			rest = strings.TrimPrefix(rest, "[")
			if name, ok := strings.CutPrefix(sel, "name="); ok {
				steps = append(steps, fix.Step{Name: name})
			} else {
				i, err := strconv.Atoi(sel)
				if err != nil {
					panic(err)
				}
				steps = append(steps, fix.Step{Index: i})
			}
		}
	}
	for _, k := range more {
		steps = append(steps, fix.Step{Key: k})
	}
	return steps
}

func set(p []fix.Step, v any) fix.Set { return fix.Set{Path: p, Value: v} }

// zoneSpread is the topologySpreadConstraints a fix adds to a pod spec.
var zoneSpread = []any{map[string]any{
	"maxSkew":           1,
	"topologyKey":       "topology.kubernetes.io/zone",
	"whenUnsatisfiable": "DoNotSchedule",
	"labelSelector":     map[string]any{"matchLabels": map[string]any{"app": "web"}},
}}

var dropAll = map[string]any{"capabilities": map[string]any{"drop": []any{"ALL"}}}

// TestApply holds Apply's results to golden files, each the input file with
// every line marked as kept ( ), removed (-) or added (+): a reviewer sees
// that nothing but the edits moved. Each result is applied again and must
// not change: a fix run twice does not add twice.
func TestApply(t *testing.T) {
	const pod = "spec.template.spec"
	web := pod + ".containers[name=web]"
	for _, tc := range []struct {
		name, in string
		edits    []Edit
	}{{
		name: "deployment-hardening",
		in:   "deployment.yaml",
		edits: []Edit{{Line: 2, Sets: []fix.Set{
			set(path(web+".securityContext.allowPrivilegeEscalation"), false),
			set(path(web+".securityContext"), dropAll),
			set(path(pod+".containers[name=sidecar].securityContext.allowPrivilegeEscalation"), false),
			set(path(pod+".containers[name=sidecar].securityContext"), dropAll),
		}}},
	}, {
		name: "deployment-scalars",
		in:   "deployment.yaml",
		edits: []Edit{{Line: 2, Sets: []fix.Set{
			set(path("apiVersion"), "apps/v1"),
			set(path("spec.replicas"), 2),
			set(path("spec.template.metadata.labels.tier"), "backend"),
			set(path(web+".image"), "registry.example/web:1.3"),
			set(path(web+".ports[0].containerPort"), 8443),
			set(path(pod+".containers[name=sidecar].args[1]"), "9091"),
		}}},
	}, {
		name: "deployment-blocks",
		in:   "deployment.yaml",
		edits: []Edit{{Line: 2, Sets: []fix.Set{
			set(path(pod+".topologySpreadConstraints"), zoneSpread),
			set(path("metadata.annotations.owner"), "team-shop"),
			set(path(pod+".volumes[name=tmp].emptyDir"), map[string]any{"medium": "Memory"}),
			set(path(web+".ports[name=metrics]"), map[string]any{"containerPort": 9090}),
		}}},
	}, {
		name: "crlf",
		in:   "crlf.yaml",
		edits: []Edit{{Line: 2, Sets: []fix.Set{
			set(path("spec.replicas"), 2),
			set(path("spec.template.spec.containers[name=api].securityContext"), map[string]any{"allowPrivilegeEscalation": false, "runAsNonRoot": true}),
			set(path("spec.template.spec.topologySpreadConstraints"), zoneSpread),
			set(path("metadata.labels.app"), "api"),
		}}},
	}, {
		name: "indented",
		in:   "indented.yaml",
		edits: []Edit{{Line: 1, Sets: []fix.Set{
			set(path("spec.template.spec.containers[name=worker].securityContext"), dropAll),
			set(path("spec.template.spec.containers[name=worker].env[name=LOG_LEVEL].value"), "debug"),
			set(path("spec.template.spec.containers[name=worker].env[name=MODE].value"), "stream"),
			set(path("metadata.labels.app"), "worker"),
			set(path("spec.template.spec.topologySpreadConstraints"), zoneSpread),
		}}},
	}, {
		// Edits are listed out of order, two of them for one object.
		name: "multi",
		in:   "multi.yaml",
		edits: []Edit{
			{Line: 17, Sets: []fix.Set{set(path("automountServiceAccountToken"), false)}},
			{Line: 10, Sets: []fix.Set{set(path("metadata.labels", "pod-security.kubernetes.io/enforce"), "restricted")}},
			{Line: 3, Sets: []fix.Set{set(path("metadata.labels", "pod-security.kubernetes.io/enforce"), "restricted")}},
			{Line: 24, Sets: []fix.Set{set(path("metadata.labels.app"), "shop")}},
			{Line: 17, Sets: []fix.Set{set(path("metadata.labels.app"), "shop")}},
		},
	}, {
		name: "list",
		in:   "list.yaml",
		edits: []Edit{
			{Line: 11, Sets: []fix.Set{
				set(path("spec.replicas"), 2),
				set(path("spec.template.spec.containers[name=web].securityContext.allowPrivilegeEscalation"), false),
			}},
			{Line: 22, Sets: []fix.Set{set(path("automountServiceAccountToken"), false)}},
			{Line: 4, Sets: []fix.Set{set(path("spec.ports[0].name"), "http")}},
		},
	}, {
		name: "flow",
		in:   "flow.yaml",
		edits: []Edit{{Line: 1, Sets: []fix.Set{
			set(path("metadata.labels.app"), "flow"),
			set(path("spec.template.spec.containers[name=app].resources.limits.memory"), "1Gi"),
			set(path("spec.template.spec.containers[name=app].securityContext"), dropAll),
			set(path("spec.template.spec.containers[name=helper].securityContext.capabilities.drop"), []any{"ALL"}),
			set(path("spec.template.spec.containers[name=helper].securityContext.runAsNonRoot"), "yes, a string"),
			set(path("spec.template.spec.volumes[name=tmp].emptyDir.medium"), "Memory"),
		}}},
	}, {
		name: "no-final-newline",
		in:   "nonewline.yaml",
		edits: []Edit{{Line: 1, Sets: []fix.Set{
			set(path("automountServiceAccountToken"), false),
			set(path("metadata.labels.tier"), "build"),
		}}},
	}, {
		name: "json",
		in:   "deployment.json",
		edits: []Edit{{Line: 1, Sets: []fix.Set{
			set(path("spec.replicas"), 2),
			set(path("spec.template.spec.containers[name=app].securityContext"), dropAll),
			set(path("metadata.labels.app"), "json"),
		}}},
	}, {
		name: "nulls",
		in:   "nulls.yaml",
		edits: []Edit{{Line: 1, Sets: []fix.Set{
			set(path("metadata.labels", "pod-security.kubernetes.io/enforce"), "restricted"),
			set(path("metadata.annotations.owner"), "batch-team"),
			set(path("spec.finalizers"), []any{"kubernetes"}),
		}}},
	}, {
		// A flow mapping whose last value is empty, a scalar quoted on
		// two lines, a comment less indented than the block it is in.
		name: "edge",
		in:   "edge.yaml",
		edits: []Edit{{Line: 1, Sets: []fix.Set{
			set(path("metadata.annotations.owner"), "edge-team"),
			set(path("data.nested.deepest"), "3"),
			set(path("data.added"), "yes"),
		}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "in", tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Apply(src, tc.edits)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			golden.Check(t, filepath.Join("testdata", "golden", tc.name+".diff"), lineDiff(src, got), *update)
			again, err := Apply(got, moved(t, src, got, tc.edits))
			if err != nil {
				t.Fatalf("applied again: got error %v, want none", err)
			}
			if string(again) != string(got) {
				t.Errorf("applied again, got a change:\n%s", lineDiff(got, again))
			}
		})
	}
}

// TestApplySmall holds Apply to the exact text of small cases that need no
// file of their own.
func TestApplySmall(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		sets      []fix.Set
		want      string
	}{{
		name: "a byte order mark",
		src:  "\uFEFFkind: ConfigMap\ndata: {a: b}\n",
		sets: []fix.Set{set(path("kind"), "Secret"), set(path("data.a"), "c")},
		want: "\uFEFFkind: Secret\ndata: {a: c}\n",
	}, {
		name: "a tab after the colon",
		src:  "kind: ConfigMap\ndata:\n  a:\tb # c\n",
		sets: []fix.Set{set(path("data.a"), "d")},
		want: "kind: ConfigMap\ndata:\n  a:\td # c\n",
	}, {
		name: "after a flow sequence on several lines",
		src:  "kind: Pod\nspec:\n  args: [a,\n    b]\nstatus: {}\n",
		sets: []fix.Set{set(path("spec.command"), []any{"run"})},
		want: "kind: Pod\nspec:\n  args: [a,\n    b]\n  command:\n  - run\nstatus: {}\n",
	}, {
		name: "a flow mapping with a trailing comma",
		src:  "kind: Pod\nmetadata: {name: a, }\n",
		sets: []fix.Set{set(path("metadata.labels.app"), "a")},
		want: "kind: Pod\nmetadata: {name: a, labels: {app: a} }\n",
	}, {
		name: "a quoted string that stays quoted",
		src:  "kind: Deployment\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: 'a:1'}]\n",
		sets: []fix.Set{set(path("spec.template.spec.containers[name=web].image"), "a:2")},
		want: "kind: Deployment\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: 'a:2'}]\n",
	}, {
		name: "a string that must be quoted where a number was",
		src:  "kind: ConfigMap\ndata:\n  port: 80\n",
		sets: []fix.Set{set(path("data.port"), "8080")},
		want: "kind: ConfigMap\ndata:\n  port: \"8080\"\n",
	}, {
		name: "a value already set",
		src:  "kind: Deployment\nspec:\n  replicas: 0x2 # hex\n",
		sets: []fix.Set{set(path("spec.replicas"), 2)},
		want: "kind: Deployment\nspec:\n  replicas: 0x2 # hex\n",
	}, {
		name: "a string spanning lines",
		src:  "kind: ConfigMap\ndata:\n  a: b\n",
		sets: []fix.Set{set(path("data.a"), "one\ntwo")},
		want: "kind: ConfigMap\ndata:\n  a: \"one\\ntwo\"\n",
	}, {
		name: "a sequence replaced",
		src:  "kind: Pod\ncaps:\n  drop:\n  - NET_RAW\n  - CHOWN\n  add: []\n",
		sets: []fix.Set{set(path("caps.drop"), []any{"ALL"})},
		want: "kind: Pod\ncaps:\n  drop:\n  - ALL\n  add: []\n",
	}, {
		name: "lines ending in a carriage return alone",
		src:  "kind: ConfigMap\rdata:\r  a: b\r",
		sets: []fix.Set{set(path("data.c"), "d")},
		want: "kind: ConfigMap\rdata:\r  a: b\r  c: d\r",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Apply([]byte(tc.src), []Edit{{Line: 1, Sets: tc.sets}})
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// moved is edits with each Line moved to where its object starts in out.
func moved(t *testing.T, in, out []byte, edits []Edit) []Edit {
	t.Helper()
	before, after := objectLines(t, in), objectLines(t, out)
	if len(before) != len(after) {
		t.Fatalf("got %d objects after the edits, want %d", len(after), len(before))
	}
	var res []Edit
	for _, e := range edits {
		for i, l := range before {
			if l == e.Line {
				res = append(res, Edit{Line: after[i], Sets: e.Sets})
			}
		}
	}
	return res
}

// objectLines are the lines the objects of src start on, in order.
func objectLines(t *testing.T, src []byte) []int {
	t.Helper()
	docs, err := parseDocuments(src)
	if err != nil {
		t.Fatal(err)
	}
	return linesOfObjects(docs)
}

// lineDiff is b as a change of a, line by line: every line of either,
// marked " " when both have it, "-" when only a has it and "+" when only b
// has it (a longest common subsequence of lines). Line breaks are kept as
// they are; a last line without one is followed by a note that says so.
func lineDiff(a, b []byte) []byte {
	x, y := splitLines(a), splitLines(b)
	// lcs[i][j] is the length of a longest common subsequence of x[i:], y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	write := func(mark, line string) {
		out.WriteString(mark + line)
		if !strings.HasSuffix(line, "\n") {
			out.WriteString("\n\\ no line break at the end of the file\n")
		}
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			write(" ", x[i])
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			write("-", x[i])
			i++
		default:
			write("+", y[j])
			j++
		}
	}
	return []byte(out.String())
}

// splitLines cuts s after each "\n".
func splitLines(s []byte) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexByte(string(s), '\n') + 1
		if i == 0 {
			i = len(s)
		}
		lines = append(lines, string(s[:i]))
		s = s[i:]
	}
	return lines
}

// TestRefuse holds what Apply refuses, and the line it names.
func TestRefuse(t *testing.T) {
	deployment, err := os.ReadFile(filepath.Join("testdata", "in", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	multi, err := os.ReadFile(filepath.Join("testdata", "in", "multi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const pod = "spec.template.spec"
	one := func(line int, p []fix.Step, v any) []Edit {
		return []Edit{{Line: line, Sets: []fix.Set{set(p, v)}}}
	}
	for _, tc := range []struct {
		name     string
		src      string
		edits    []Edit
		wantLine int
		want     string // a regular expression the message matches
	}{{
		name:     "template",
		src:      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
		edits:    one(1, path("data.a"), "b"),
		wantLine: 4,
		want:     `template syntax`,
	}, {
		name:     "no object at the line",
		src:      string(deployment),
		edits:    one(3, path("spec.replicas"), 2),
		wantLine: 3,
		want:     `no object starts at this line`,
	}, {
		name:     "through an alias",
		src:      string(deployment),
		edits:    one(2, path("spec.selector.matchLabels.app"), "shop"),
		wantLine: 17,
		want:     `spec\.selector\.matchLabels is an alias \(\*labels\): editing through it would change every use`,
	}, {
		name:     "an alias's data",
		src:      string(multi),
		edits:    one(33, path("data.mode"), "lax"),
		wantLine: 38,
		want:     `data is an alias \(\*defaults\)`,
	}, {
		name:     "an anchor's data",
		src:      string(multi),
		edits:    one(24, path("data.mode"), "lax"),
		wantLine: 29,
		want:     `data has an anchor \(&defaults\): editing it would change every alias of it too`,
	}, {
		name:     "a scalar where a mapping is expected",
		src:      string(deployment),
		edits:    one(2, path("spec.replicas.count"), 2),
		wantLine: 15,
		want:     `spec\.replicas is a scalar \("1"\), not a mapping: the path does not match the object`,
	}, {
		name:     "a mapping replaced by a scalar",
		src:      string(deployment),
		edits:    one(2, path("spec.template"), "none"),
		wantLine: 19,
		want:     `spec\.template is a mapping, not a scalar`,
	}, {
		name:     "a block scalar",
		src:      string(deployment),
		edits:    one(2, path("metadata.annotations.description"), "short"),
		wantLine: 11,
		want:     `metadata\.annotations\.description is a block scalar`,
	}, {
		name:     "a scalar on two lines",
		src:      "kind: ConfigMap\ndata:\n  a: one\n    two\n",
		edits:    one(1, path("data.a"), "three"),
		wantLine: 3,
		want:     `data\.a is a scalar that continues on the next line`,
	}, {
		name:     "a merge key",
		src:      "kind: ConfigMap\nbase: &b {x: 1}\nmetadata:\n  labels:\n    <<: *b\n    y: 2\n",
		edits:    one(1, path("metadata.labels.z"), "3"),
		wantLine: 5,
		want:     `metadata\.labels merges another mapping \(<<\)`,
	}, {
		name:     "a flow collection with a comment",
		src:      "kind: Pod\nspec:\n  args: [a, # first\n    b]\n",
		edits:    one(1, path("spec.args[2]"), "c"),
		wantLine: 3,
		want:     `spec\.args has a comment inside`,
	}, {
		name: "two values for one field",
		src:  string(deployment),
		edits: []Edit{
			{Line: 2, Sets: []fix.Set{set(path("spec.replicas"), 2)}},
			{Line: 2, Sets: []fix.Set{set(path("spec.replicas"), 3)}},
		},
		wantLine: 15,
		want:     `spec\.replicas: two sets give it different values`,
	}, {
		name: "two values for one new field",
		src:  string(deployment),
		edits: []Edit{{Line: 2, Sets: []fix.Set{
			set(path("spec.paused"), true),
			set(path("spec.paused"), false),
		}}},
		wantLine: 15,
		want:     `spec\.paused: two sets give it different values`,
	}, {
		name:     "an element past the end",
		src:      string(deployment),
		edits:    one(2, path(pod+".containers[3].image"), "x"),
		wantLine: 26,
		want:     `containers has 2 elements, so there is no element 3 to set`,
	}, {
		name:     "an element of a new sequence past its start",
		src:      string(deployment),
		edits:    one(2, path(pod+".initContainers[1].image"), "x"),
		wantLine: 25,
		want:     `initContainers\[1\]\.image: the sequence does not exist, so it has no element 1`,
	}, {
		name:     "a named element that is not a mapping",
		src:      string(deployment),
		edits:    one(2, path(pod+".containers[name=new]"), "x"),
		wantLine: 26,
		want:     `an element found by its name \(new\) is a mapping`,
	}, {
		name:     "two elements of one name",
		src:      "kind: Pod\nspec:\n  containers:\n  - name: a\n  - name: a\n",
		edits:    one(1, path("spec.containers[name=a].image"), "x"),
		wantLine: 5,
		want:     `spec\.containers has two elements named a`,
	}, {
		name:     "a line break editors do not show",
		src:      "kind: ConfigMap\ndata:\n  a: b\u2028c\n",
		edits:    one(1, path("data.a"), "d"),
		wantLine: 3,
		want:     `U\+2028`,
	}, {
		name:     "not YAML",
		src:      "kind: ConfigMap\ndata: [\n",
		edits:    one(1, path("data.a"), "d"),
		wantLine: 0,
		want:     `does not parse as YAML`,
	}, {
		name:     "duplicate keys",
		src:      "kind: ConfigMap\ndata:\n  a: b\n  a: c\n",
		edits:    one(1, path("data.b"), "d"),
		wantLine: 0,
		want:     `(?s)does not read as YAML: .*already defined`,
	}, {
		name:     "an empty value in a flow mapping",
		src:      "kind: ConfigMap\ndata: {a: }\n",
		edits:    one(1, path("data.a.b"), "d"),
		wantLine: 2,
		want:     `data\.a is empty inside a flow collection`,
	}, {
		name:     "a block sequence with comments replaced",
		src:      "kind: Pod\nspec:\n  args:\n  # the first\n  - a\n",
		edits:    one(1, path("spec.args"), []any{"b"}),
		wantLine: 5,
		want:     `spec\.args is a sequence with comments`,
	}, {
		name:     "an explicit key",
		src:      "kind: ConfigMap\ndata:\n  ? a\n  : b\n",
		edits:    one(1, path("data.c"), "d"),
		wantLine: 3,
		want:     `data has an explicit key \(\? a\), which is not edited around`,
	}, {
		name:     "a block scalar at the end without a line break",
		src:      "kind: ConfigMap\ndata:\n  a: |\n    text",
		edits:    one(1, path("metadata.name"), "x"),
		wantLine: 3,
		want:     `the file ends in a block scalar without a line break`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Apply([]byte(tc.src), tc.edits)
			if err == nil {
				t.Fatalf("got no error and\n%s\nwant an error", got)
			}
			if got != nil {
				t.Errorf("got a result with the error %v, want none", err)
			}
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("got error %q, want one matching %q", err, tc.want)
			}
			var e *Error
			line := 0
			if errors.As(err, &e) {
				line = e.Line
			}
			if line != tc.wantLine {
				t.Errorf("got error at line %d (%v), want line %d", line, err, tc.wantLine)
			}
		})
	}
}
