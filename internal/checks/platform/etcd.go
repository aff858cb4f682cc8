package platform

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/runtime"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// etcdChecks judge whether a self-managed control plane's etcd is
// snapshotted: a Velero backup does not hold etcd.
func etcdChecks() []*check.Check {
	return []*check.Check{
		{
			ID:       "backup-etcd",
			Title:    "A self-managed control plane's etcd is snapshotted daily",
			Layer:    check.ClusterServices,
			Severity: check.High,
			Kinds:    clusterKinds,
			Reads:    []string{"CronJob", "Job", "Node", "Pod"},
			Rationale: "etcd holds the whole cluster state: every object, RBAC rule and Secret. Velero restores applications, but a control plane that loses etcd (a corrupt member, a lost quorum, a bad upgrade) is restored only from an etcd snapshot. " +
				"Managed services back up etcd themselves, so the check is not assessed there; it fails on a visible self-managed control plane when no CronJob has taken a snapshot within etcdBackupMaxAge plus backupGrace (parameters: a day and two hours by default, the same grace as Velero backups).",
			Remediation:   "Run etcdctl snapshot save from a CronJob on the control-plane nodes (tolerating their taint, with the etcd client certificates from a hostPath) and copy the snapshot off the cluster; or, when a systemd timer on the nodes does it, exempt this check with that reason.",
			ChecklistItem: checklist.EtcdBackups,
			Requires:      check.Cluster,
			Run:           backupEtcdRun,
		},
	}
}

// backupEtcdRun is backup-etcd's Run.
func backupEtcdRun(o *inventory.Object, c *check.Context) []check.Finding {
	if p := platform.Managed(c.Inventory); p != nil {
		return []check.Finding{check.NotAssessedf("provider-managed: %s (%s) backs up etcd", p.Name, p.Evidence)}
	}
	version := o.ClusterInfo().Version
	for _, d := range etcdSnapshottingDistributions {
		if strings.Contains(version, d.version) {
			return []check.Finding{check.NotAssessedf("%s (API server version %s) snapshots etcd itself: %s, which plimsoll cannot see", d.name, version, d.how)}
		}
	}
	selfManaged := controlPlaneSeen(c.Inventory)
	if selfManaged == "" {
		return []check.Finding{check.NotAssessedf("the control plane is not visible: no Node has label %s or %s, and no Pod in kube-system has label component=etcd",
			platform.ControlPlaneLabel, platform.MasterLabel)}
	}
	crons := etcdSnapshotCronJobs(c.Inventory)
	if len(crons) == 0 {
		return []check.Finding{check.Failf("", "no CronJob snapshots etcd, and the control plane is self-managed (%s): no CronJob is named for an etcd backup or snapshot or runs etcdctl snapshot save", selfManaged)}
	}
	limit := time.Duration(c.Params.EtcdBackupMaxAge + c.Params.BackupGrace)
	var out []check.Finding
	for _, m := range crons {
		ok, msg := etcdSnapshotRecent(m.cron, c, limit)
		msg = fmt.Sprintf("%s (%s) %s", m.cron.ID(), m.signal, msg)
		if ok {
			return []check.Finding{check.Passf("%s", msg)}
		}
		out = append(out, check.Failf("", "%s", msg))
	}
	return out
}

// controlPlaneSeen names what shows a self-managed control plane: a
// control-plane Node, or an etcd Pod in kube-system. It returns "" when
// neither is visible.
func controlPlaneSeen(inv *inventory.Inventory) string {
	for _, n := range inv.OfKind("Node") {
		if platform.IsControlPlane(n) {
			label := platform.ControlPlaneLabel
			if _, ok := n.Labels[label]; !ok {
				label = platform.MasterLabel
			}
			return fmt.Sprintf("Node %s has label %s", n.Name, label)
		}
	}
	for _, p := range inv.InNamespace("Pod", "kube-system") {
		if p.Labels["component"] == "etcd" {
			return fmt.Sprintf("Pod kube-system/%s has label component=etcd", p.Name)
		}
	}
	return ""
}

// etcdSnapshotCron is a CronJob recognised as snapshotting etcd, and the
// signal that gave it away.
type etcdSnapshotCron struct {
	cron   *inventory.Object
	signal string
}

// etcdSnapshotCronJobs returns the CronJobs that etcdSnapshotSignals
// recognise, sorted.
func etcdSnapshotCronJobs(inv *inventory.Inventory) []etcdSnapshotCron {
	var out []etcdSnapshotCron
	for _, o := range inv.OfKind("CronJob") {
		if sig := etcdSnapshotSignal(o); sig != "" {
			out = append(out, etcdSnapshotCron{o, sig})
		}
	}
	return out
}

func etcdSnapshotSignal(o *inventory.Object) string {
	for _, words := range etcdSnapshotSignals.Names {
		if containsAll(o.Name, words) {
			return "name " + o.Name
		}
	}
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return ""
	}
	for _, ctr := range append(append([]corev1.Container{}, tmpl.Spec.InitContainers...), tmpl.Spec.Containers...) {
		cmd := strings.Join(append(append([]string{}, ctr.Command...), ctr.Args...), " ")
		for _, words := range etcdSnapshotSignals.Commands {
			if containsAll(cmd, words) {
				return fmt.Sprintf("container %s runs %s", ctr.Name, strings.Join(words, " ... "))
			}
		}
	}
	return ""
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// etcdSnapshotRecent judges one etcd snapshot CronJob: its latest Job did
// not fail, and a run succeeded within the limit. It says what it found
// either way.
func etcdSnapshotRecent(o *inventory.Object, c *check.Context, limit time.Duration) (bool, string) {
	cron := o.Typed.(*batchv1.CronJob)
	if cron.Spec.Suspend != nil && *cron.Spec.Suspend {
		return false, "is suspended (spec.suspend: true): it takes no snapshots"
	}
	latest := runtime.LatestJob(o, c.Inventory)
	if latest != nil {
		if _, cond := runtime.JobFailed(latest.Typed.(*batchv1.Job)); cond != nil {
			return false, fmt.Sprintf("failed its latest run: Job %s%s; it %s", latest.Name, say.Reason(cond.Reason, cond.Message), jobStarted(latest, c.Now))
		}
	}
	var last time.Time
	what := ""
	if t := cron.Status.LastSuccessfulTime; t != nil {
		last, what = t.Time, "status.lastSuccessfulTime is"
	}
	for _, j := range c.Inventory.OwnedBy(o, "Job") {
		if t := j.Typed.(*batchv1.Job).Status.CompletionTime; t != nil && jobSucceeded(j.Typed.(*batchv1.Job)) && !t.Time.Before(last) {
			last, what = t.Time, "its Job "+j.Name+" completed at"
		}
	}
	limitText := fmt.Sprintf("etcdBackupMaxAge %s + backupGrace %s", c.Params.EtcdBackupMaxAge, c.Params.BackupGrace)
	switch {
	case last.IsZero():
		return false, "has never succeeded: status.lastSuccessfulTime is not set and none of its Jobs completed"
	case c.Now.Sub(last) > limit:
		return false, fmt.Sprintf("last succeeded too long ago: %s %s, longer ago than %s", what, when(c.Now, last), limitText)
	}
	return true, fmt.Sprintf("succeeded recently: %s %s", what, when(c.Now, last))
}

// jobSucceeded reports whether a Job's Complete condition is True.
func jobSucceeded(j *batchv1.Job) bool {
	for _, cond := range j.Status.Conditions {
		if cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// jobStarted says when a Job started.
func jobStarted(job *inventory.Object, now time.Time) string {
	j := job.Typed.(*batchv1.Job)
	if j.Status.StartTime != nil {
		return "started " + when(now, j.Status.StartTime.Time)
	}
	return "created " + when(now, j.CreationTimestamp.Time)
}
