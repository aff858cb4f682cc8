package checks

import (
	"io/fs"
	"strings"
	"testing"
)

// TestAdmissionFilesNameChecks: every file of admission/ is a check's, by
// its ID, so that none is left unread by a typo or a renamed check.
func TestAdmissionFilesNameChecks(t *testing.T) {
	reg := Registry()
	files, err := fs.Glob(admission, "admission/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("admission/ holds no file")
	}
	for _, f := range files {
		id := strings.TrimSuffix(strings.TrimPrefix(f, "admission/"), ".yaml")
		c := reg.Get(id)
		if c == nil {
			t.Errorf("%s: no check has the ID %s", f, id)
			continue
		}
		if c.Admission == "" {
			t.Errorf("%s: check %s was not given it", f, id)
		}
	}
}
