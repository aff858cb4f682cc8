package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
)

// writeChecksums writes the sha256 of every other file of the release, in
// the format sha256sum -c reads, sorted by name.
func writeChecksums(o options) error {
	entries, err := os.ReadDir(o.out) // sorted by name
	if err != nil {
		return err
	}
	name := "plimsoll_" + o.version + "_checksums.txt"
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() || e.Name() == name {
			continue
		}
		data, err := os.ReadFile(filepath.Join(o.out, e.Name()))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		b.WriteString(hex.EncodeToString(sum[:]) + "  " + e.Name() + "\n")
	}
	return os.WriteFile(filepath.Join(o.out, name), []byte(b.String()), 0o644)
}
