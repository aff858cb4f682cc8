package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nonroot is the user the image runs as: distroless's nonroot, as the
// Dockerfile's image does.
const nonroot = "65532:65532"

// writeImage writes the container image of the Linux binaries, for amd64
// and arm64, as an OCI image layout in a tar file. Each image is one
// layer, /plimsoll, on an empty base, run as nonroot with /plimsoll as its
// entrypoint. Unlike the Dockerfile's image on distroless, it has no CA
// certificates, time zone data or /etc/passwd: plimsoll needs none of
// them, as it talks only to the API server, whose CA the service account
// brings.
func writeImage(o options, bins map[platform]string, work string) error {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	// The index lists amd64 first, whatever order the binaries were built in.
	for _, p := range []platform{{"linux", "amd64"}, {"linux", "arm64"}} {
		img, err := image(o, p, bins[p])
		if err != nil {
			return err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}},
		})
	}
	dir := filepath.Join(work, "oci")
	l, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := l.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": o.version,
	})); err != nil {
		return err
	}
	return tarDir(dir, filepath.Join(o.out, "plimsoll_"+o.version+"_image.oci.tar"), o)
}

// image is p's image: bin as /plimsoll on an empty base.
func image(o options, p platform, bin string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var layerData bytes.Buffer
	if err := writeTarGz(&layerData, []entry{{"plimsoll", 0o755, data}}, o.date); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerData.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: o.date}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: p.Arch,
		OS:           p.OS,
		Created:      created,
		Config: v1.Config{
			Entrypoint: []string{"/plimsoll"},
			User:       nonroot,
			Labels: map[string]string{
				"org.opencontainers.image.source":   "https://" + module,
				"org.opencontainers.image.version":  o.version,
				"org.opencontainers.image.revision": o.commit,
				"org.opencontainers.image.licenses": "Apache-2.0",
			},
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "hack/release-snapshot: COPY plimsoll /plimsoll"},
	})
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
}

// tarDir writes the files under dir to a tar file, reproducibly.
func tarDir(dir, file string, o options) error {
	var entries []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			entries = append(entries, entry{rel + "/", 0o755, nil})
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		entries = append(entries, entry{rel, 0o644, data})
		return nil
	})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, entries, o.date); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}
