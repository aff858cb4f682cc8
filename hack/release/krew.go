package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path"
	"path/filepath"

	"github.com/plimsoll/plimsoll/krew"
)

// writeKrew fills in krew/plimsoll.yaml, the template krew-release-bot
// fills in for a published release, for this release's archives: the
// same template, with each archive's sha256 read from the file here
// instead of downloaded. So the committed template and the released
// manifest cannot disagree on names or platforms.
func writeKrew(o options) error {
	manifest, err := krew.Render(o.version, func(uri string) (string, error) {
		data, err := os.ReadFile(filepath.Join(o.out, path.Base(uri)))
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:]), nil
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, "plimsoll.krew.yaml"), manifest, 0o644)
}
