package check

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Params are the knobs that checks read. Configuration sets them; Defaults
// gives the values used when it does not.
type Params struct {
	// MinReplicas is the replica count below which a Deployment or
	// StatefulSet is a single point of failure.
	MinReplicas int32 `yaml:"minReplicas" json:"minReplicas"`
	// CostLabels must be set on workloads and namespaces for cost attribution.
	CostLabels []string `yaml:"costLabels" json:"costLabels"`
	// RecommendedLabels are the app.kubernetes.io labels the optional
	// recommended-labels check asks for.
	RecommendedLabels []string `yaml:"recommendedLabels" json:"recommendedLabels"`
	// AllowedRegistries, when not empty, are the only image registries (or
	// registry/path prefixes) that workloads may pull from.
	AllowedRegistries []string `yaml:"allowedRegistries" json:"allowedRegistries"`
	// SystemNamespaces are not application namespaces: namespace-level
	// application checks skip them.
	SystemNamespaces []string `yaml:"systemNamespaces" json:"systemNamespaces"`
	// KubernetesVersion is the version upgrade checks judge against, as
	// "1.33". Empty means the newest release plimsoll knows.
	KubernetesVersion string `yaml:"kubernetesVersion" json:"kubernetesVersion"`
	// SlowStartSeconds is the liveness initialDelaySeconds from which a
	// container counts as slow to start and should have a startup probe.
	SlowStartSeconds int32 `yaml:"slowStartSeconds" json:"slowStartSeconds"`
	// MaxGracePeriodSeconds is the largest terminationGracePeriodSeconds that
	// is not absurd.
	MaxGracePeriodSeconds int64 `yaml:"maxGracePeriodSeconds" json:"maxGracePeriodSeconds"`
	// MaxRestarts is the most restarts a running container may have had
	// before runtime-pods-restarts reports it. Kubernetes counts restarts
	// over the pod's lifetime, so a long-lived pod may reach it slowly.
	MaxRestarts int32 `yaml:"maxRestarts" json:"maxRestarts"`
	// MinWorkerNodes is the fewest schedulable worker nodes a cluster
	// should have (seed 000: three or more instances).
	MinWorkerNodes int32 `yaml:"minWorkerNodes" json:"minWorkerNodes"`
	// MinZones is the fewest zones the schedulable worker nodes should
	// span.
	MinZones int32 `yaml:"minZones" json:"minZones"`
	// AlertTopics are the failures some alerting rule must cover for
	// monitoring-alert-rules to pass. Setting it replaces the whole list.
	AlertTopics []AlertTopic `yaml:"alertTopics" json:"alertTopics"`
	// BackupRPO is the recovery point objective: the most time that may
	// pass between two completed backups of a Velero Schedule
	// (backup-recent).
	BackupRPO Duration `yaml:"backupRPO" json:"backupRPO"`
	// BackupGrace is added to BackupRPO and EtcdBackupMaxAge before a
	// backup counts as late: a daily backup that takes an hour to finish
	// is not a missed one.
	BackupGrace Duration `yaml:"backupGrace" json:"backupGrace"`
	// EtcdBackupMaxAge is the most time since the last successful run of
	// the CronJob that snapshots etcd (backup-etcd), plus BackupGrace.
	EtcdBackupMaxAge Duration `yaml:"etcdBackupMaxAge" json:"etcdBackupMaxAge"`
	// RestoreTestMaxAge is the most time since a Velero Restore last
	// completed: how often restores must be tested (backup-restore-tested).
	RestoreTestMaxAge Duration `yaml:"restoreTestMaxAge" json:"restoreTestMaxAge"`
	// CertMinValidity is the least time a cert-manager Certificate must
	// stay valid (certificate-expiry). cert-manager renews at two thirds
	// of a certificate's life, 30 days before expiry for a 90-day one, so
	// a certificate this close to expiry failed to renew.
	CertMinValidity Duration `yaml:"certMinValidity" json:"certMinValidity"`
}

// Defaults returns the parameters used when configuration sets none.
func Defaults() Params {
	return Params{
		MinReplicas:       2,
		CostLabels:        []string{"team", "environment", "cost-center", "app"},
		RecommendedLabels: []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version"},
		SystemNamespaces: []string{
			"kube-system", "kube-public", "kube-node-lease",
		},
		SlowStartSeconds:      30,
		MaxGracePeriodSeconds: 3600,
		MaxRestarts:           5,
		MinWorkerNodes:        3,
		MinZones:              2,
		AlertTopics:           DefaultAlertTopics(),
		BackupRPO:             Duration(24 * time.Hour),
		BackupGrace:           Duration(2 * time.Hour),
		EtcdBackupMaxAge:      Duration(24 * time.Hour),
		RestoreTestMaxAge:     Days(90),
		CertMinValidity:       Days(14),
	}
}

// IsSystemNamespace reports whether ns is one of the system namespaces.
func (p *Params) IsSystemNamespace(ns string) bool {
	for _, s := range p.SystemNamespaces {
		if s == ns {
			return true
		}
	}
	return false
}

// Duration is a length of time in configuration: Prometheus's notation
// (14d, 2w, 1d12h, 90m), which adds days, weeks and years to Go's, or Go's
// (36h, 1.5h, 1h30m).
type Duration time.Duration

// Days returns a Duration of n days.
func Days(n int) Duration { return Duration(time.Duration(n) * 24 * time.Hour) }

// String writes whole days as 14d, anything else as Go does without its
// zero minutes and seconds (26h, not 26h0m0s). It is not model.Duration's
// String, which writes 14d as 2w and 26h as 1d2h; what it writes, UnmarshalText
// reads back.
func (d Duration) String() string {
	day := 24 * time.Hour
	td := time.Duration(d)
	if td != 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	s := td.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText writes the duration as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a duration as Prometheus does (model.ParseDuration:
// y, w, d, h, m, s and ms, biggest first, whole numbers) and, failing that,
// as Go does (time.ParseDuration), which alone reads fractions (1.5h), units
// below a millisecond and units in any order, so that every value read
// before Prometheus's notation was used still reads the same. A leading +
// is allowed, as it was on days (+14d). A negative duration, or one of 292
// years or more, is an error.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := model.ParseDurationAllowNegative(strings.TrimPrefix(s, "+"))
	if err != nil {
		gv, gerr := time.ParseDuration(s)
		if gerr != nil {
			return fmt.Errorf("duration %q: want a duration shorter than 292 years, such as 36h, 90m, 14d or 2w", s)
		}
		v = model.Duration(gv)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}
