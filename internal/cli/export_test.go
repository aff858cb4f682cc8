package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/checks"
)

// exported decodes an export's YAML stream: the names of the policies and
// the validation actions of the bindings, and the kinds of the other
// objects.
func exported(t *testing.T, stream string) (policies []string, actions map[string][]admissionregistrationv1.ValidationAction, others []string) {
	t.Helper()
	actions = map[string][]admissionregistrationv1.ValidationAction{}
	for _, doc := range strings.Split(stream, "\n---\n")[1:] {
		var meta struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := sigsyaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		switch meta.Kind {
		case "ValidatingAdmissionPolicy":
			policies = append(policies, meta.Metadata.Name)
		case "ValidatingAdmissionPolicyBinding":
			var b admissionregistrationv1.ValidatingAdmissionPolicyBinding
			if err := sigsyaml.UnmarshalStrict([]byte(doc), &b); err != nil {
				t.Fatal(err)
			}
			actions[b.Spec.PolicyName] = b.Spec.ValidationActions
		default:
			others = append(others, meta.Kind+"/"+meta.Metadata.Name)
		}
	}
	return policies, actions, others
}

func TestExportVAP(t *testing.T) {
	var want []string
	for _, c := range checks.Registry().All() {
		if c.Admission != "" {
			want = append(want, "plimsoll-"+c.ID)
		}
	}
	o := run(t, "export", "vap")
	wantCode(t, o, ExitOK)
	if !strings.HasPrefix(o.out, "# Made by plimsoll ") || !strings.Contains(o.out, "#   plimsoll export vap --action Warn\n") {
		t.Errorf("got header\n%s\nwant one saying how the policies were made", strings.SplitN(o.out, "---", 2)[0])
	}
	policies, actions, others := exported(t, o.out)
	if !slices.Equal(policies, want) || len(others) > 0 {
		t.Errorf("got policies %v and objects %v, want the exportable checks' %v", policies, others, want)
	}
	for _, p := range policies {
		if got := actions[p]; !slices.Equal(got, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn}) {
			t.Errorf("%s: validationActions %v, want [Warn] by default", p, got)
		}
	}
	if again := run(t, "export", "vap"); again.out != o.out {
		t.Error("two exports of the same checks differ")
	}
}

func TestExportVAPSelection(t *testing.T) {
	o := run(t, "export", "vap", "--layer", "security", "--action", "deny")
	wantCode(t, o, ExitOK)
	policies, actions, _ := exported(t, o.out)
	for _, p := range policies {
		c := checks.Registry().Get(strings.TrimPrefix(p, "plimsoll-"))
		if c == nil || c.Layer != "security" {
			t.Errorf("--layer security exported %s", p)
		}
		if got := actions[p]; !slices.Equal(got, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) {
			t.Errorf("%s: validationActions %v, want [Deny]", p, got)
		}
	}
	if len(policies) == 0 {
		t.Error("--layer security exported nothing")
	}

	// A check that cannot be exported, asked for by name, is an error
	// that says why; the others are still written.
	o = run(t, "export", "vap", "--check", "pdb-coverage", "--check", "ingress-tls")
	wantCode(t, o, ExitPartial)
	if policies, _, _ := exported(t, o.out); !slices.Equal(policies, []string{"plimsoll-ingress-tls"}) {
		t.Errorf("got %v, want plimsoll-ingress-tls still written", policies)
	}
	if !strings.Contains(o.errOut, "check pdb-coverage cannot be exported: it reads other objects") {
		t.Errorf("stderr %q, want it to say why pdb-coverage cannot be exported", o.errOut)
	}

	// --exclude-namespace= leaves no namespace out, and the header says so.
	o = run(t, "export", "vap", "--check", "naked-pod", "--exclude-namespace=")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.out, "--check naked-pod --exclude-namespace=\n") || strings.Contains(o.out, "namespaceSelector") {
		t.Errorf("got\n%s\nwant a header naming --exclude-namespace= and no namespaceSelector", o.out)
	}

	for _, args := range [][]string{{"--action", "Block"}, {"--layer", "nope"}, {"--check", "no-such-check"}} {
		if o := run(t, append([]string{"export", "vap"}, args...)...); o.code != ExitPartial || o.out != "" {
			t.Errorf("export vap %v: exit %d, stdout %q; want exit %d and nothing written", args, o.code, o.out, ExitPartial)
		}
	}
}

func TestExportVAPFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := run(t, "export", "vap", "--check", "naked-pod", "-o", file)
	wantCode(t, o, ExitOK)
	if o.out != "" {
		t.Errorf("stdout %q, want nothing with -o", o.out)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if stdout := run(t, "export", "vap", "--check", "naked-pod"); !bytes.Equal(got, []byte(stdout.out)) {
		t.Errorf("the file differs from what standard output gets:\n%s", got)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the replaced file's 0600", st.Mode().Perm())
	}
	// Nothing but the file is left in the directory: no temporary file.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the file alone", len(entries))
	}
	// A directory that does not exist is an error, and nothing is written.
	o = run(t, "export", "vap", "-o", filepath.Join(dir, "missing", "p.yaml"))
	if o.code != ExitPartial || !errors.Is(statErr(filepath.Join(dir, "missing")), os.ErrNotExist) {
		t.Errorf("exit %d, want %d and no directory made", o.code, ExitPartial)
	}
}

func statErr(p string) error { _, err := os.Stat(p); return err }

func TestExportVAPCustom(t *testing.T) {
	policiesDir, err := filepath.Abs("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	o := run(t, "export", "vap", "--checks", policiesDir, "--layer", "governance", "--layer", "workloads", "--exclude-namespace", "kube-system", "--exclude-namespace", "platform")
	wantCode(t, o, ExitOK)
	policies, _, others := exported(t, o.out)
	for _, id := range []string{"plimsoll-house-memory-limit", "plimsoll-house-team-label"} {
		if !slices.Contains(policies, id) {
			t.Errorf("got %v, want %s among them", policies, id)
		}
	}
	if !slices.Equal(others, []string{"ConfigMap/house-memory-limit"}) {
		t.Errorf("got other objects %v, want house-memory-limit's params", others)
	}
	if !strings.Contains(o.out, "values:\n        - kube-system\n        - platform\n") {
		t.Error("the bindings do not leave out kube-system and platform")
	}
}
