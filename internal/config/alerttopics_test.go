package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
)

func TestDecodeAlertTopics(t *testing.T) {
	c, err := decode(t, `parameters:
  alertTopics:
    - name: etcd quorum
      alertNames: [etcdInsufficientMembers, etcdNoLeader]
    - name: backup failure
      expressions: [velero_backup_failure_total]
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []check.AlertTopic{
		{Name: "etcd quorum", AlertNames: []string{"etcdInsufficientMembers", "etcdNoLeader"}},
		{Name: "backup failure", Expressions: []string{"velero_backup_failure_total"}},
	}
	// The list replaces the defaults: a topic left out is not required.
	if diff := cmp.Diff(want, c.Parameters.AlertTopics); diff != "" {
		t.Errorf("alertTopics (-want +got):\n%s", diff)
	}
}

func TestDecodeAlertTopicErrors(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "pattern that is not a regular expression",
			yaml: "parameters:\n  alertTopics:\n    - name: crash loops\n      alertNames: [CrashLoop, \"Kube(Pod\"]\n",
			want: []string{"parameters.alertTopics[0]", `topic "crash loops"`, `alertNames[1] "Kube(Pod"`, "missing closing )"},
		},
		{
			name: "bad expression",
			yaml: "parameters:\n  alertTopics:\n    - name: disk\n      expressions: [\"node_filesystem_avail_bytes{mountpoint=\\\"/\\\"}[\"]\n",
			want: []string{"parameters.alertTopics[0]", `expressions[0]`, "missing closing ]"},
		},
		{
			name: "topic without a name",
			yaml: "parameters:\n  alertTopics:\n    - alertNames: [CrashLoop]\n",
			want: []string{"parameters.alertTopics[0]", "name is required"},
		},
		{
			name: "topic without patterns",
			yaml: "parameters:\n  alertTopics:\n    - name: disk\n    - name: memory\n",
			want: []string{"parameters.alertTopics[0]", `topic "disk": alertNames or expressions is required`},
		},
		{
			name: "unknown key in a topic",
			yaml: "parameters:\n  alertTopics:\n    - name: disk\n      alertName: [Disk]\n",
			want: []string{"line 4", `unknown key "alertName"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.yaml)
			if err == nil {
				t.Fatal("got no error, want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDefaultAlertTopicsCompile(t *testing.T) {
	for i, topic := range check.DefaultAlertTopics() {
		if _, err := topic.Compile(); err != nil {
			t.Errorf("default alertTopics[%d]: %v", i, err)
		}
	}
}
