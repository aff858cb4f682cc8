package platform

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// etcdSnapshotSignals recognise the CronJob that snapshots etcd on a
// self-managed control plane: a name holding every word of one Names
// entry, or a container whose command and args hold every word of one
// Commands entry.
var etcdSnapshotSignals = struct{ Names, Commands [][]string }{
	Names:    [][]string{{"etcd", "backup"}, {"etcd", "snapshot"}},
	Commands: [][]string{{"etcdctl", "snapshot save"}},
}

// etcdSnapshottingDistributions take etcd snapshots themselves unless told
// not to, recognised by what their API servers add to the version
// (v1.33.1+k3s1).
var etcdSnapshottingDistributions = []struct{ name, version, how string }{
	{"k3s", "+k3s", "its servers snapshot etcd every 12 h unless --etcd-disable-snapshots is set"},
	{"RKE2", "+rke2", "its servers snapshot etcd every 12 h unless etcd-disable-snapshots is set"},
}

// Velero's kinds, and the label it puts on the Backups a Schedule makes.
const (
	veleroName        = "Velero"
	veleroBSL         = "BackupStorageLocation.velero.io"
	veleroSchedule    = "Schedule.velero.io"
	veleroBackup      = "Backup.velero.io"
	veleroRestore     = "Restore.velero.io"
	veleroScheduleKey = "velero.io/schedule-name"
)

// backupChecks judge whether the cluster can be restored: Velero backs up
// the applications on a schedule, recently, and its restores are tested;
// etcd is snapshotted where the control plane is the cluster's own.
func backupChecks() []*check.Check {
	veleroReads := append([]string{platform.CRDKey}, platform.Reads...)
	return []*check.Check{
		{
			ID:            "backup-velero",
			Title:         "Velero runs and has an available backup storage location",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         append([]string{veleroBSL}, veleroReads...),
			Rationale:     "Without a backup tool, a deleted namespace, a broken upgrade or a lost cluster takes the applications' objects and volumes with it. Velero backs them up to object storage, but only while its server runs and can reach a BackupStorageLocation: an Unavailable location (wrong credentials, a deleted bucket) makes every backup fail.",
			Remediation:   "Install Velero (its Helm chart or velero install) with a BackupStorageLocation in object storage outside the cluster, and fix what keeps the server or the location from being ready: kubectl -n velero describe backupstoragelocation says why it is Unavailable.",
			ChecklistItem: checklist.Backup,
			Requires:      check.Cluster,
			Run:           backupVeleroRun,
		},
		{
			ID:            "backup-schedule-coverage",
			Title:         "A Velero Schedule backs up every application namespace within the RPO",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         []string{"Namespace"},
			Reads:         append([]string{veleroSchedule, platform.CRDKey}, appNamespaceReads...),
			Rationale:     "Velero backs up only what a Backup includes, and only Schedules back up without someone remembering to: a namespace no Schedule includes, or only a paused one does, has no recent backup to restore when its objects or volumes are lost; one that only a weekly Schedule includes loses up to a week of changes, more than the recovery point objective (the parameter backupRPO, a day by default).",
			Remediation:   "Create a Velero Schedule that runs at least every backupRPO and includes the namespace (velero schedule create daily --schedule \"0 2 * * *\" --include-namespaces shop --ttl 720h), or add the namespace to such a Schedule's spec.template.includedNamespaces; unpause a paused one.",
			ChecklistItem: checklist.DailyBackups,
			Requires:      check.Cluster,
			// Its Schedules live in Velero's namespace.
			AllNamespaces: true,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if ok, why := appNamespace(o, c); !ok {
					return false, why
				}
				if veleroInstalled(c.Inventory) == "" {
					return false, "Velero is not installed: backup-velero reports it"
				}
				return true, ""
			},
			Run: backupScheduleCoverageRun,
		},
		{
			ID:            "backup-recent",
			Title:         "Velero Schedules completed a backup within the RPO",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         []string{veleroSchedule},
			Reads:         []string{veleroBackup},
			Rationale:     "A Schedule is a promise, its Backups are what was kept: a backup that Failed or PartiallyFailed, or none completed for longer than the recovery point objective, means a restore today loses more than the business agreed to lose. Velero records the failure and tries again only at the next scheduled time.",
			Remediation:   "Read why the latest backup failed (velero backup describe <backup> --details; velero backup logs <backup>), fix it (storage location, credentials, a volume snapshotter, a hook) and run one now with velero backup create --from-schedule <schedule>. The allowed age is the parameter backupRPO (or the Schedule's own interval, when longer) plus backupGrace.",
			ChecklistItem: checklist.Backup,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if o.Field("spec", "paused") == true {
					return false, "paused (spec.paused: true): it takes no backups; backup-schedule-coverage reports the namespaces it leaves out"
				}
				return true, ""
			},
			Run: backupRecentRun,
		},
		{
			ID:            "backup-restore-tested",
			Title:         "A Velero restore was tested recently",
			Layer:         check.ClusterServices,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         append([]string{veleroRestore}, veleroReads...),
			Rationale:     "A backup that was never restored is a hope, not a backup: missing volumes, a resource the restore cannot recreate, or hooks that never ran show up only on restore. A Restore completed recently shows the backups can be restored and that the team knows how.",
			Remediation:   "Restore a recent backup into a scratch namespace (velero restore create --from-backup <backup> --namespace-mappings shop:shop-restore-test), check that the application works there, then delete the scratch namespace; repeat at least every restoreTestMaxAge (a parameter). Velero deletes a Restore with the Backup it restored, so restore from a backup whose TTL outlasts that interval.",
			ChecklistItem: checklist.TestedRestores,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if veleroInstalled(c.Inventory) == "" {
					return false, "Velero is not installed: backup-velero reports it"
				}
				return true, ""
			},
			Run: backupRestoreTestedRun,
		},
	}
}

// backupVeleroRun is backup-velero's Run.
func backupVeleroRun(o *inventory.Object, c *check.Context) []check.Finding {
	running, finding := componentRunning("Velero server", veleroName, veleroServers(c.Inventory), veleroCRDs(c.Inventory))
	if finding != nil {
		return []check.Finding{*finding}
	}
	bsls := c.Inventory.OfKind(veleroBSL)
	if len(bsls) == 0 {
		return []check.Finding{check.Failf("", "%s runs, but no BackupStorageLocation exists: Velero has nowhere to write backups", running[0])}
	}
	var out []check.Finding
	for _, b := range bsls {
		phase := b.FieldString("status", "phase")
		if phase == "Available" {
			return []check.Finding{check.Passf("%s runs; %s status.phase is Available (%s)", running[0], b.ID(), describeBSL(b))}
		}
		msg := fmt.Sprintf("%s (%s) has no status.phase: Velero has not validated it", b.ID(), describeBSL(b))
		if phase != "" {
			msg = fmt.Sprintf("%s (%s) status.phase is %s: Velero cannot write backups there", b.ID(), describeBSL(b), phase)
		}
		if m := b.FieldString("status", "message"); m != "" {
			msg += " (status.message: " + say.Brief(m) + ")"
		}
		out = append(out, check.Failf("", "%s", msg))
	}
	return out
}

// backupScheduleCoverageRun is backup-schedule-coverage's Run.
func backupScheduleCoverageRun(o *inventory.Object, c *check.Context) []check.Finding {
	schedules := c.Inventory.OfKind(veleroSchedule)
	if len(schedules) == 0 {
		return []check.Finding{check.Failf("", "no Velero Schedule exists: nothing backs up namespace %s on a schedule", o.Name)}
	}
	var why []string
	for _, s := range schedules {
		covers, how := scheduleCovers(s, o.Name)
		name, spec := s.Namespace+"/"+s.Name, s.FieldString("spec", "schedule")
		interval, known := scheduleInterval(s, c.Now)
		switch {
		case !covers:
			why = append(why, name+" "+how)
		case s.Field("spec", "paused") == true:
			why = append(why, name+" "+how+" but is paused (spec.paused: true)")
		case known && interval > time.Duration(c.Params.BackupRPO):
			why = append(why, fmt.Sprintf("%s %s but runs only every %s (spec.schedule %q), less often than backupRPO %s",
				name, how, check.Duration(interval), spec, c.Params.BackupRPO))
		default:
			return []check.Finding{check.Passf("Schedule %s (spec.schedule %q) %s", name, spec, how)}
		}
	}
	return []check.Finding{check.Failf("", "no active Velero Schedule backs up namespace %s at least every backupRPO %s: %s", o.Name, c.Params.BackupRPO, strings.Join(why, "; "))}
}

// backupRecentRun is backup-recent's Run.
func backupRecentRun(o *inventory.Object, c *check.Context) []check.Finding {
	// A weekly Schedule kept for its long retention is judged
	// against its week; whether some Schedule meets the RPO is
	// backup-schedule-coverage's question.
	allowed := time.Duration(c.Params.BackupRPO)
	within := fmt.Sprintf("backupRPO %s + backupGrace %s", c.Params.BackupRPO, c.Params.BackupGrace)
	if interval, ok := scheduleInterval(o, c.Now); ok && interval > allowed {
		allowed = interval
		within = fmt.Sprintf("its interval %s (spec.schedule %q) + backupGrace %s", check.Duration(interval), o.FieldString("spec", "schedule"), c.Params.BackupGrace)
	}
	limit := allowed + time.Duration(c.Params.BackupGrace)
	if phase := o.FieldString("status", "phase"); phase == "FailedValidation" {
		return []check.Finding{check.Failf("status.phase", "status.phase is FailedValidation, so Velero takes no backups of it%s",
			prefixedList(": ", o.Field("status", "validationErrors")))}
	}
	var backups []*inventory.Object
	for _, b := range c.Inventory.InNamespace(veleroBackup, o.Namespace) {
		if b.Labels[veleroScheduleKey] == o.Name {
			backups = append(backups, b)
		}
	}
	latest := newest(backups, started)
	if latest != nil && strings.Contains(latest.FieldString("status", "phase"), "Failed") {
		return []check.Finding{check.Failf("status.lastBackup", "its latest Backup %s is %s%s; it started at %s",
			latest.Name, latest.FieldString("status", "phase"), veleroErrors(latest), when(c.Now, started(latest)))}
	}
	var completed []*inventory.Object
	for _, b := range backups {
		if _, ok := fieldTime(b, "status", "completionTimestamp"); ok && b.FieldString("status", "phase") == "Completed" {
			completed = append(completed, b)
		}
	}
	if done := newest(completed, finished); done != nil {
		at := finished(done)
		if c.Now.Sub(at) <= limit {
			return []check.Finding{check.Passf("its latest Backup %s Completed at %s", done.Name, when(c.Now, at))}
		}
		return []check.Finding{check.Failf("status.lastBackup", "its last completed Backup %s finished at %s, longer ago than %s%s",
			done.Name, when(c.Now, at), within, inProgress(latest, done))}
	}
	if created, ok := fieldTime(o, "metadata", "creationTimestamp"); ok && c.Now.Sub(created) <= limit {
		return []check.Finding{check.Passf("created at %s: its first backup is not due yet", when(c.Now, created))}
	}
	if latest != nil {
		return []check.Finding{check.Failf("status.lastBackup", "no Backup of it completed; the latest, %s, is %s and started at %s",
			latest.Name, orNone(latest.FieldString("status", "phase")), when(c.Now, started(latest)))}
	}
	msg := fmt.Sprintf("no Backup of it exists (label %s=%s)", veleroScheduleKey, o.Name)
	if last, ok := fieldTime(o, "status", "lastBackup"); ok {
		msg += fmt.Sprintf(", though status.lastBackup says one started at %s: it was deleted or expired", when(c.Now, last))
	}
	return []check.Finding{check.Failf("status.lastBackup", "%s", msg)}
}

// backupRestoreTestedRun is backup-restore-tested's Run.
func backupRestoreTestedRun(o *inventory.Object, c *check.Context) []check.Finding {
	restores := c.Inventory.OfKind(veleroRestore)
	var completed []*inventory.Object
	for _, r := range restores {
		if _, ok := fieldTime(r, "status", "completionTimestamp"); ok && r.FieldString("status", "phase") == "Completed" {
			completed = append(completed, r)
		}
	}
	maxAge := time.Duration(c.Params.RestoreTestMaxAge)
	if done := newest(completed, finished); done != nil {
		at := finished(done)
		if c.Now.Sub(at) <= maxAge {
			return []check.Finding{check.Passf("%s of Backup %s Completed at %s", done.ID(), done.FieldString("spec", "backupName"), when(c.Now, at))}
		}
		return []check.Finding{check.Failf("", "the last completed restore, %s of Backup %s, finished at %s, longer ago than restoreTestMaxAge %s",
			done.ID(), done.FieldString("spec", "backupName"), when(c.Now, at), c.Params.RestoreTestMaxAge)}
	}
	if latest := newest(restores, started); latest != nil {
		return []check.Finding{check.Failf("", "no Restore completed: the latest, %s of Backup %s, is %s%s; it started at %s",
			latest.ID(), latest.FieldString("spec", "backupName"), orNone(latest.FieldString("status", "phase")), veleroErrors(latest), when(c.Now, started(latest)))}
	}
	return []check.Finding{check.Failf("", "no Velero Restore exists: no backup was restored to test it (Velero deletes a Restore with the Backup it restored, so an older test may have gone with its backup)")}
}

// veleroServers returns the workloads recognised as Velero's server: its
// Deployments, when there are any, as the node agent (a DaemonSet running
// the same image) backs up volumes but takes no backups itself.
func veleroServers(inv *inventory.Inventory) []platform.Match {
	var all, deployments []platform.Match
	for _, m := range platform.Find(inv, platform.Backup) {
		if m.Impl.Name != veleroName {
			continue
		}
		all = append(all, m)
		if m.Workload.KindKey() == "Deployment" {
			deployments = append(deployments, m)
		}
	}
	if len(deployments) > 0 {
		return deployments
	}
	return all
}

// veleroCRDs returns Velero's CRDs that are installed.
func veleroCRDs(inv *inventory.Inventory) []platform.CRD {
	var out []platform.CRD
	for _, crd := range platform.Installed(inv, platform.Backup) {
		if crd.Impl.Name == veleroName {
			out = append(out, crd)
		}
	}
	return out
}

// veleroInstalled names what shows Velero is installed (a workload or a
// CRD), or returns "".
func veleroInstalled(inv *inventory.Inventory) string {
	if ms := veleroServers(inv); len(ms) > 0 {
		return ms[0].String()
	}
	if crds := veleroCRDs(inv); len(crds) > 0 {
		return "CRD " + crds[0].Name
	}
	return ""
}

// describeBSL names a BackupStorageLocation's provider and bucket.
func describeBSL(o *inventory.Object) string {
	s := "provider " + orNone(o.FieldString("spec", "provider"))
	if b := o.FieldString("spec", "objectStorage", "bucket"); b != "" {
		s += ", bucket " + b
	}
	return s
}

// scheduleCovers says whether a Velero Schedule's backups include a
// namespace, and which field says so. Velero reads the namespace lists as
// glob patterns; an empty include list, like "*", means every namespace,
// and an exclusion wins over an inclusion.
func scheduleCovers(s *inventory.Object, ns string) (bool, string) {
	included := stringList(s.Field("spec", "template", "includedNamespaces"))
	if p := matchGlob(stringList(s.Field("spec", "template", "excludedNamespaces")), ns); p != "" {
		return false, fmt.Sprintf("excludes it (spec.template.excludedNamespaces entry %q)", p)
	}
	switch p := matchGlob(included, ns); {
	case len(included) == 0:
		return true, "includes every namespace (spec.template.includedNamespaces is empty)"
	case p == "*":
		return true, "includes every namespace (spec.template.includedNamespaces [*])"
	case p != "":
		return true, fmt.Sprintf("includes it (spec.template.includedNamespaces entry %q)", p)
	}
	return false, fmt.Sprintf("includes only %s (spec.template.includedNamespaces)", strings.Join(included, ", "))
}

// scheduleInterval returns the longest time between two runs of a Velero
// Schedule around now (a weekday schedule waits 72 h over a weekend),
// reading spec.schedule as Velero does. It returns false when the
// schedule does not parse.
func scheduleInterval(s *inventory.Object, now time.Time) (time.Duration, bool) {
	sched, err := cron.ParseStandard(s.FieldString("spec", "schedule"))
	if err != nil {
		return 0, false
	}
	// Every gap a monthly schedule can have shows within two months around
	// now; more runs than that only repeat shorter gaps.
	var longest time.Duration
	end := now.AddDate(0, 1, 0)
	t := sched.Next(now.AddDate(0, -1, 0))
	for i := 0; i < 1000 && !t.IsZero(); i++ {
		next := sched.Next(t)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(t))
		if !next.Before(end) {
			break
		}
		t = next
	}
	return longest, longest > 0
}

// matchGlob returns the first pattern that matches name, or "".
func matchGlob(patterns []string, name string) string {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return p
		}
	}
	return ""
}

// stringList returns the strings of a list from a custom resource's content.
func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, item := range list {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// prefixedList joins a list of strings from a custom resource's content after a
// prefix, or returns "" for an empty list.
func prefixedList(prefix string, v any) string {
	if ss := stringList(v); len(ss) > 0 {
		return prefix + say.Brief(strings.Join(ss, "; "))
	}
	return ""
}

// started returns when a Velero Backup or Restore started, or when it was
// created if it has not.
func started(o *inventory.Object) time.Time {
	if t, ok := fieldTime(o, "status", "startTimestamp"); ok {
		return t
	}
	t, _ := fieldTime(o, "metadata", "creationTimestamp")
	return t
}

// finished returns when a Velero Backup or Restore completed.
func finished(o *inventory.Object) time.Time {
	t, _ := fieldTime(o, "status", "completionTimestamp")
	return t
}

// newest returns the object whose time is latest, or nil. Objects come
// sorted by name, so among equal times the last name wins.
func newest(objs []*inventory.Object, at func(*inventory.Object) time.Time) *inventory.Object {
	var out *inventory.Object
	for _, o := range objs {
		if out == nil || !at(o).Before(at(out)) {
			out = o
		}
	}
	return out
}

// veleroErrors says why a Velero Backup or Restore failed: how many errors
// it counted and its status.failureReason.
func veleroErrors(o *inventory.Object) string {
	s := ""
	if n := number(o.Field("status", "errors")); n > 0 {
		s += fmt.Sprintf(" (status.errors %d)", n)
	}
	if r := o.FieldString("status", "failureReason"); r != "" {
		s += ": " + say.Brief(r)
	}
	return s
}

// inProgress notes a backup newer than the last completed one that is
// still running.
func inProgress(latest, done *inventory.Object) string {
	if latest == nil || latest == done {
		return ""
	}
	return fmt.Sprintf("; the latest, %s, is %s", latest.Name, orNone(latest.FieldString("status", "phase")))
}

// when writes a time and how long ago it was: 2025-12-30T02:00:00Z (46 h
// ago).
func when(now, t time.Time) string {
	return t.UTC().Format(time.RFC3339) + " (" + age(now, t) + ")"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
