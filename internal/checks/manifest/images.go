package manifest

import (
	"strings"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

const itemImageProvenance = "The Production Ready Checklist for Clusters: Build Pipeline: Artefacts should be tagged with Git commit SHA to verify provenance (from Weaveworks’ production-ready checklist)"

func imageChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "image-tag-latest",
			Title:         "Images name a version, not latest",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "An image with no tag, or the tag latest, is whatever was pushed last: two pods of one Deployment can run different code, a rollback redeploys the broken version, and nobody can tell from the manifest what is running.",
			Remediation:   "Reference every image by an immutable version tag (such as the release or Git commit) or by digest.",
			ChecklistItem: itemImageProvenance,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.Containers(o) {
					ref, ok := parseImageRef(ct.Image)
					if !ok || ref.digest != "" {
						// A digest pins the image whatever the tag says.
						continue
					}
					switch ref.tag {
					case "":
						out = append(out, check.Failf(ct.Path()+".image", "container %q uses image %q with no tag, which means latest", ct.Name, ct.Image))
					case "latest":
						out = append(out, check.Failf(ct.Path()+".image", "container %q uses image %q with the tag latest", ct.Name, ct.Image))
					}
				}
				return out
			},
		},
		{
			ID:            "image-registry-allowed",
			Title:         "Images come from allowed registries",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "Images pulled from arbitrary registries bypass the scanning, signing and availability guarantees of the registries the organisation trusts, and a public registry's rate limits or outage stop pods from starting.",
			Remediation:   "Mirror the image into an allowed registry and reference it there, or add its registry to parameters.allowedRegistries if it is trusted.",
			ChecklistItem: "Cluster policies and rules: images must be from known repositories (from Aly Saleh’s “Kubernetes Production Readiness”)",
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(c.Params.AllowedRegistries) == 0 {
					return false, "no allowed registries configured (parameters.allowedRegistries)"
				}
				return true, ""
			},
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.Containers(o) {
					ref, ok := parseImageRef(ct.Image)
					if !ok || registryAllowed(ref, c.Params.AllowedRegistries) {
						continue
					}
					out = append(out, check.Failf(ct.Path()+".image", "container %q uses image %q from %s, which is not under an allowed registry (%s)", ct.Name, ct.Image, ref.repository(), strings.Join(c.Params.AllowedRegistries, ", ")))
				}
				return out
			},
		},
		{
			ID:            "image-digest-pinned",
			Title:         "Images are pinned by digest",
			Layer:         check.Workloads,
			Severity:      check.Low,
			Kinds:         pod.WorkloadKinds,
			Optional:      true,
			Rationale:     "A tag can be moved to another image at any time, by a release process or an attacker; only a digest guarantees that every pod, on every node, at every restart runs exactly the image that was reviewed and scanned.",
			Remediation:   "Reference images as name:tag@sha256:<digest>, letting a tool such as Renovate or the CI pipeline update the digest.",
			ChecklistItem: itemImageProvenance,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.Containers(o) {
					ref, ok := parseImageRef(ct.Image)
					if !ok || ref.digest != "" {
						continue
					}
					out = append(out, check.Failf(ct.Path()+".image", "container %q uses image %q, which is not pinned by digest", ct.Name, ct.Image))
				}
				return out
			},
		},
	}
}

// imageRef is a container image reference split the way the container
// runtime reads it.
type imageRef struct {
	domain string // registry host[:port], docker.io by default
	path   string // repository path within the registry
	tag    string
	digest string
}

func (r imageRef) repository() string { return r.domain + "/" + r.path }

// parseImageRef splits an image reference following Docker's normalisation
// (github.com/distribution/reference is not a dependency, and this is all
// of it checks need): the first path component is a registry only when it
// contains '.' or ':', is localhost, or has upper-case letters; otherwise
// the image is on docker.io, where a one-component name is under library/.
// It returns false for an empty image, which admission may fill in and
// which no check can judge.
func parseImageRef(image string) (imageRef, bool) {
	image = strings.TrimSpace(image)
	if image == "" {
		return imageRef{}, false
	}
	var r imageRef
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image, r.digest = image[:i], image[i+1:]
	}
	r.domain, r.path = splitRegistry(image)
	// Any ':' left is the tag separator: a registry port went with the
	// domain.
	if i := strings.LastIndexByte(r.path, ':'); i >= 0 {
		r.path, r.tag = r.path[:i], r.path[i+1:]
	}
	if r.domain == "docker.io" && !strings.Contains(r.path, "/") {
		r.path = "library/" + r.path
	}
	return r, true
}

// splitRegistry returns the registry of a reference without its digest, and
// the rest.
func splitRegistry(name string) (domain, rest string) {
	i := strings.IndexByte(name, '/')
	if i < 0 {
		return "docker.io", name
	}
	first := name[:i]
	if !strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first {
		return "docker.io", name
	}
	if first == "index.docker.io" {
		first = "docker.io"
	}
	return first, name[i+1:]
}

// registryAllowed reports whether an image's repository is under one of the
// allowed entries. An entry is a registry host (quay.io, localhost:5000) or
// a host/path prefix (ghcr.io/acme); an entry whose first component is not
// a host, such as bitnami, is a Docker Hub namespace, as in image names.
// Prefixes match whole path components only: ghcr.io/acme does not allow
// ghcr.io/acme-evil.
func registryAllowed(ref imageRef, allowed []string) bool {
	repo := ref.repository()
	for _, entry := range allowed {
		e := strings.TrimSuffix(strings.TrimSpace(entry), "/")
		if e == "" {
			continue
		}
		domain, rest := splitRegistry(e)
		if !strings.Contains(e, "/") && (strings.ContainsAny(e, ".:") || e == "localhost") {
			domain, rest = e, ""
		}
		if domain == "index.docker.io" {
			domain = "docker.io"
		}
		prefix := strings.ToLower(domain)
		if rest != "" {
			prefix += "/" + rest
		}
		if strings.EqualFold(repo, prefix) || strings.HasPrefix(strings.ToLower(repo), strings.ToLower(prefix)+"/") {
			return true
		}
	}
	return false
}
