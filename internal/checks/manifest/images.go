package manifest

import (
	"strings"

	"github.com/distribution/reference"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

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
			ChecklistItem: checklist.ImageProvenance,
			Run:           imageTagLatestRun,
		},
		{
			ID:            "image-registry-allowed",
			Title:         "Images come from allowed registries",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "Images pulled from arbitrary registries bypass the scanning, signing and availability guarantees of the registries the organisation trusts, and a public registry's rate limits or outage stop pods from starting.",
			Remediation:   "Mirror the image into an allowed registry and reference it there, or add its registry to parameters.allowedRegistries if it is trusted.",
			ChecklistItem: checklist.KnownRegistries,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(c.Params.AllowedRegistries) == 0 {
					return false, "no allowed registries configured (parameters.allowedRegistries)"
				}
				return true, ""
			},
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return eachImage(o, imageNotJudged, func(ct pod.Container, ref imageRef) []check.Finding {
					if registryAllowed(ref, c.Params.AllowedRegistries) {
						return nil
					}
					return []check.Finding{check.Failf(ct.Path()+".image", "%s uses image %q from %s, which is not under an allowed registry (%s)", ct.Describe(), ct.Image, ref.repository(), strings.Join(c.Params.AllowedRegistries, ", "))}
				})
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
			ChecklistItem: checklist.ImageProvenance,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return eachImage(o, imageNotJudged, func(ct pod.Container, ref imageRef) []check.Finding {
					if ref.digest != "" {
						return nil
					}
					return []check.Finding{check.Failf(ct.Path()+".image", "%s uses image %q, which is not pinned by digest", ct.Describe(), ct.Image)}
				})
			},
		},
	}
}

// imageTagLatestRun is image-tag-latest's Run.
func imageTagLatestRun(o *inventory.Object, c *check.Context) []check.Finding {
	return eachImage(o, imageInvalid, func(ct pod.Container, ref imageRef) []check.Finding {
		if ref.digest != "" {
			// A digest pins the image whatever the tag says.
			return nil
		}
		switch ref.tag {
		case "":
			return []check.Finding{check.Failf(ct.Path()+".image", "%s uses image %q with no tag, which means latest", ct.Describe(), ct.Image)}
		case "latest":
			return []check.Finding{check.Failf(ct.Path()+".image", "%s uses image %q with the tag latest", ct.Describe(), ct.Image)}
		}
		return nil
	})
}

// eachImage calls judge with the image reference of each container of a
// workload and returns what it finds. For a container whose image is not
// a valid reference, it returns what invalid says instead: the kubelet
// refuses to pull such an image (InvalidImageName), which image-tag-latest
// reports (imageInvalid); nothing else can be told about it (imageNotJudged).
// An empty image, which admission may fill in, is not judged.
func eachImage(o *inventory.Object, invalid func(ct pod.Container, err error) check.Finding, judge func(ct pod.Container, ref imageRef) []check.Finding) []check.Finding {
	var out []check.Finding
	for _, ct := range pod.Containers(o) {
		ref, ok, err := parseImageRef(ct.Image)
		switch {
		case !ok:
			// An empty image is not judged.
		case err != nil:
			out = append(out, invalid(ct, err))
		default:
			out = append(out, judge(ct, ref)...)
		}
	}
	return out
}

// imageInvalid is image-tag-latest's finding on an image that is not a
// valid reference: it names no version the kubelet could pull.
func imageInvalid(ct pod.Container, err error) check.Finding {
	return check.Failf(ct.Path()+".image", "%s uses image %q, which is not a valid image reference (%v)", ct.Describe(), ct.Image, err)
}

// imageNotJudged is what the other image checks say of an image that is
// not a valid reference: its registry and digest cannot be told, and
// image-tag-latest reports it.
func imageNotJudged(ct pod.Container, _ error) check.Finding {
	return check.NotAssessedf("%s uses image %q, which is not a valid image reference (image-tag-latest reports it)", ct.Describe(), ct.Image)
}

// imageRef is a container image reference as the container runtime reads
// it.
type imageRef struct {
	domain string // registry host[:port], docker.io by default
	path   string // repository path within the registry
	tag    string
	digest string
}

func (r imageRef) repository() string { return r.domain + "/" + r.path }

// parseImageRef reads an image reference with Docker's normalisation,
// as the kubelet does (reference.ParseNormalizedNamed): the first path
// component is a registry only when it contains '.' or ':', is localhost,
// or has upper-case letters; otherwise the image is on docker.io, where a
// one-component name is under library/. It returns false for an empty
// image, which admission may fill in and which no check can judge, and an
// error for an image that is not a valid reference (upper case in the
// repository, a malformed tag or digest).
func parseImageRef(image string) (imageRef, bool, error) {
	image = strings.TrimSpace(image)
	if image == "" {
		return imageRef{}, false, nil
	}
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return imageRef{}, true, err
	}
	r := imageRef{domain: reference.Domain(named), path: reference.Path(named)}
	if t, ok := named.(reference.Tagged); ok {
		r.tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.digest = d.Digest().String()
	}
	return r, true, nil
}

// registryAllowed reports whether an image's repository is under one of the
// allowed entries. An entry is a registry host (quay.io, localhost:5000) or
// a host/path prefix (ghcr.io/acme); an entry whose first component is not
// a host, such as bitnami, is a Docker Hub namespace, as in image names.
// Prefixes match whole path components only: ghcr.io/acme does not allow
// ghcr.io/acme-evil. An entry that no image name could start with allows
// nothing.
func registryAllowed(ref imageRef, allowed []string) bool {
	repo := strings.ToLower(ref.repository())
	for _, entry := range allowed {
		prefix, ok := allowedPrefix(entry)
		if ok && (repo == prefix || strings.HasPrefix(repo, prefix+"/")) {
			return true
		}
	}
	return false
}

// allowedPrefix returns the repository an allowedRegistries entry allows,
// in lower case, normalised as image names are (index.docker.io is
// docker.io, bitnami is docker.io/bitnami). An entry is not an image name
// (bitnami is not docker.io/library/bitnami, and quay.io is a registry, not
// an image on Docker Hub), so it is read as one with two path components
// added, which keeps the library from adding library/ and leaves the
// entry's first component to the same rule as an image's, then cut off.
// Entries are compared without regard to case, so one with upper case in
// its path (ghcr.io/MyOrg), which no image name has, is read in lower case.
func allowedPrefix(entry string) (string, bool) {
	const below = "/x/x"
	e := strings.TrimSuffix(strings.TrimSpace(entry), "/")
	if e == "" {
		return "", false
	}
	named, err := reference.ParseNormalizedNamed(e + below)
	if err != nil {
		if named, err = reference.ParseNormalizedNamed(strings.ToLower(e) + below); err != nil {
			return "", false
		}
	}
	return strings.ToLower(reference.Domain(named) + strings.TrimSuffix("/"+reference.Path(named), below)), true
}
