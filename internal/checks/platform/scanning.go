package platform

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// scanningChecks judge whether running images are scanned, and whether a
// scan found critical vulnerabilities in them.
func scanningChecks() []*check.Check {
	return []*check.Check{
		{
			ID:       "image-scanning",
			Title:    "Images are scanned or verified in the cluster",
			Layer:    check.Security,
			Severity: check.Medium,
			Kinds:    clusterKinds,
			Reads:    append(append([]string{}, platform.Reads...), kyvernoClusterPolicyKey, kyvernoPolicyKey, sigstorePolicyKey),
			Rationale: "A scan in CI judges an image against the vulnerabilities known the day it was built; the images running months later are affected by CVEs published since. " +
				"An in-cluster scanner (the Trivy Operator) rescans what runs, and an admission policy that verifies signatures (Kyverno verifyImages, Sigstore policy-controller, Connaisseur) keeps images that did not pass the pipeline out.",
			Remediation:   "Install the Trivy Operator (helm install trivy-operator aqua/trivy-operator) and alert on its VulnerabilityReports, or verify image signatures at admission with a Kyverno verifyImages rule, a Sigstore ClusterImagePolicy or Connaisseur.",
			ChecklistItem: checklist.InClusterImageScanning,
			Requires:      check.Cluster,
			Run:           imageScanningRun,
		},
		{
			ID:            "image-vulnerabilities-critical",
			Title:         "Running images have no CRITICAL vulnerabilities",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{vulnerabilityReportKey},
			Rationale:     "A CRITICAL vulnerability is one that is usually exploitable remotely with no credentials; a workload that runs an image with one, as the Trivy Operator's VulnerabilityReports show, is an open door however well the rest of the cluster is configured.",
			Remediation:   "Rebuild the image on a patched base image or upgrade the affected packages to their fixed versions (the report's fixedVersion), roll it out, and let the Trivy Operator rescan it.",
			ChecklistItem: checklist.ImageScanningPipeline,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(vulnerabilityReports(c.Inventory, o)) == 0 {
					return false, "no Trivy VulnerabilityReport for it"
				}
				return true, ""
			},
			Run: criticalVulnerabilitiesRun,
		},
	}
}

func imageScanningRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	var evidence, down []string
	scanners, stopped := platform.Running(platform.Find(inv, platform.ImageScanner))
	down = append(down, stopped...)
	for _, m := range scanners {
		evidence = append(evidence, m.String()+" scans the running images")
	}
	verifiers, stopped := platform.Running(platform.Find(inv, platform.ImageVerifier))
	down = append(down, stopped...)
	for _, m := range verifiers {
		if m.Impl.Name == "Sigstore policy-controller" {
			policies := inv.OfKind(sigstorePolicyKey)
			if len(policies) == 0 {
				down = append(down, m.String()+" runs but no ClusterImagePolicy tells it what to verify")
				continue
			}
			evidence = append(evidence, fmt.Sprintf("%s verifies images against ClusterImagePolicy %s", m, objectNames(policies)))
			continue
		}
		evidence = append(evidence, m.String()+" verifies images at admission")
	}
	var verifying []string
	for _, p := range kyvernoPolicies(inv) {
		rules, _ := p.Field("spec", "rules").([]any)
		for i, r := range rules {
			if rule, _ := r.(map[string]any); rule["verifyImages"] != nil {
				verifying = append(verifying, fmt.Sprintf("%s %s spec.rules[%d]", p.Kind, p.Name, i))
				break
			}
		}
	}
	if len(verifying) > 0 {
		kyverno, stopped := platform.Running(implMatches(platform.Find(inv, platform.PolicyEngine), "Kyverno"))
		if len(kyverno) > 0 {
			evidence = append(evidence, fmt.Sprintf("%s verifies images with verifyImages rules: %s", platform.Describe(kyverno), say.List(verifying, ", ")))
		} else {
			down = append(down, fmt.Sprintf("Kyverno policies have verifyImages rules (%s) but Kyverno does not run%s", say.List(verifying, ", "), parenthesised(stopped)))
		}
	}
	if len(evidence) > 0 {
		return []check.Finding{check.Passf("%s", strings.Join(evidence, "; "))}
	}
	msg := "no image scanner (Trivy Operator) runs and no admission policy verifies images (Kyverno verifyImages, Sigstore policy-controller, Connaisseur): running images are never checked against newly published CVEs"
	if len(down) > 0 {
		msg += "; " + strings.Join(down, "; ")
	}
	return []check.Finding{check.Failf("", "%s", msg)}
}

func parenthesised(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " (" + strings.Join(items, "; ") + ")"
}

// vulnerabilityReports returns the Trivy VulnerabilityReports of a
// workload's images. The Trivy Operator reports on the object that owns
// the pods: a Deployment's current ReplicaSets, a CronJob itself. Its
// reports name that object in labels and in an owner reference.
func vulnerabilityReports(inv *inventory.Inventory, o *inventory.Object) []*inventory.Object {
	subjects := []*inventory.Object{o}
	if o.KindKey() == "Deployment" {
		for _, rs := range inv.OwnedBy(o, "ReplicaSet") {
			// A scaled-down ReplicaSet is an old revision: its report is
			// about images that no longer run.
			if n, _ := rs.Replicas(); n > 0 {
				subjects = append(subjects, rs)
			}
		}
	}
	var out []*inventory.Object
	for _, r := range inv.InNamespace(vulnerabilityReportKey, o.Namespace) {
		for _, s := range subjects {
			if r.Labels["trivy-operator.resource.kind"] == s.Kind && r.Labels["trivy-operator.resource.name"] == s.Name {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func criticalVulnerabilitiesRun(o *inventory.Object, c *check.Context) []check.Finding {
	byName := map[string]pod.Container{}
	for _, ctr := range pod.Containers(o) {
		byName[ctr.Name] = ctr
	}
	var out []check.Finding
	var clean, stale []string
	for _, r := range vulnerabilityReports(c.Inventory, o) {
		name := r.Labels["trivy-operator.container.name"]
		scanned := reportImage(r)
		ctr, ok := byName[name]
		if !ok || !sameImage(ctr.Image, r) {
			stale = append(stale, fmt.Sprintf("VulnerabilityReport %s (container %s, image %s)", r.Name, name, scanned))
			continue
		}
		ids := criticalIDs(r)
		n := number(r.Field("report", "summary", "criticalCount"))
		if n < len(ids) {
			n = len(ids)
		}
		if n == 0 {
			clean = append(clean, fmt.Sprintf("%s (image %s, VulnerabilityReport %s)", name, ctr.Image, r.Name))
			continue
		}
		msg := fmt.Sprintf("container %s (image %s) has %s", name, ctr.Image, say.Count(n, "CRITICAL vulnerability", "CRITICAL vulnerabilities"))
		switch {
		case len(ids) == n && n <= say.Listed:
			msg += ": " + strings.Join(ids, ", ")
		case len(ids) > 0:
			msg += ", among them " + strings.Join(ids[:min(len(ids), say.Listed)], ", ")
		}
		out = append(out, check.Failf(ctr.Path()+".image", "%s (VulnerabilityReport %s)", msg, r.Name))
	}
	switch {
	case len(out) > 0:
		return out
	case len(clean) > 0:
		return []check.Finding{check.Passf("no CRITICAL vulnerability in container %s", strings.Join(clean, ", "))}
	}
	return []check.Finding{check.NotAssessedf("its Trivy VulnerabilityReports are about images its containers no longer run: %s", strings.Join(stale, ", "))}
}

// criticalIDs returns the distinct IDs of a report's CRITICAL
// vulnerabilities, in the report's order.
func criticalIDs(r *inventory.Object) []string {
	list, _ := r.Field("report", "vulnerabilities").([]any)
	seen := map[string]bool{}
	var ids []string
	for _, v := range list {
		m, _ := v.(map[string]any)
		id, _ := m["vulnerabilityID"].(string)
		if sev, _ := m["severity"].(string); sev == "CRITICAL" && id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// reportImage names the image a report scanned.
func reportImage(r *inventory.Object) string {
	image := r.FieldString("report", "artifact", "repository")
	if server := r.FieldString("report", "registry", "server"); server != "" {
		image = server + "/" + image
	}
	if tag := r.FieldString("report", "artifact", "tag"); tag != "" {
		image += ":" + tag
	}
	return image
}

// sameImage reports whether a container's image is the one a report
// scanned: the same repository (Docker Hub's library/ prefix aside) and the
// same tag or digest.
func sameImage(image string, r *inventory.Object) bool {
	scanned := strings.TrimPrefix(r.FieldString("report", "artifact", "repository"), "library/")
	repo := platform.Repository(image)
	if repo != scanned && !strings.HasSuffix(repo, "/"+scanned) {
		return false
	}
	if digest := r.FieldString("report", "artifact", "digest"); digest != "" && strings.HasSuffix(image, "@"+digest) {
		return true
	}
	tag := "latest"
	if rest := strings.TrimPrefix(strings.SplitN(image, "@", 2)[0], repo); strings.HasPrefix(rest, ":") {
		tag = rest[1:]
	}
	return tag == r.FieldString("report", "artifact", "tag")
}
