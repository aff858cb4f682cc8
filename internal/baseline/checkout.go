package baseline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Checkout is the files of a git commit, written to a temporary directory
// for an audit of the commit: the baseline of a change is the audit of its
// base.
type Checkout struct {
	// Repo is the top level of the work tree the commit was read from.
	Repo string
	// Commit is the commit's full hash.
	Commit string
	// Dir holds the commit's files, laid out as in Repo.
	Dir string
	// tmp holds Dir and the index it was checked out from.
	tmp string
}

// CheckoutRef writes the files of the commit ref names, in the git
// repository whose work tree holds dir, to a new temporary directory, as a
// checkout would write them (filters, line endings, symbolic links), and
// changes nothing in the repository: not its work tree, index, HEAD, refs
// or list of worktrees. It reads the commit into an index of its own
// (GIT_INDEX_FILE in the temporary directory) and checks that index out
// under a prefix. git worktree add would record the worktree in .git, and
// git archive leaves out what .gitattributes marks export-ignore. Remove
// deletes the directory.
func CheckoutRef(ctx context.Context, dir, ref string) (*Checkout, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, errors.New("git is not installed, and reading a git commit needs it")
	}
	root, err := git(ctx, dir, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s is not in a git work tree (%w)", dir, err)
	}
	if ref == "" || strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("%q is not a git commit, branch or tag", ref)
	}
	commit, err := git(ctx, root, nil, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil || commit == "" {
		shallow, _ := git(ctx, root, nil, "rev-parse", "--is-shallow-repository")
		hint := ""
		if shallow == "true" {
			hint = " (the clone is shallow: fetch the history, e.g. actions/checkout with fetch-depth: 0)"
		}
		return nil, fmt.Errorf("%q names no commit of the repository at %s%s", ref, root, hint)
	}
	tmp, err := os.MkdirTemp("", "plimsoll-baseline-ref-")
	if err != nil {
		return nil, err
	}
	c := &Checkout{Repo: root, Commit: commit, Dir: filepath.Join(tmp, "tree"), tmp: tmp}
	index := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if _, err := git(ctx, root, index, "read-tree", commit); err != nil {
		c.Remove()
		return nil, fmt.Errorf("read commit %s: %w", commit, err)
	}
	if _, err := git(ctx, root, index, "checkout-index", "--all", "--prefix="+c.Dir+string(filepath.Separator)); err != nil {
		c.Remove()
		return nil, fmt.Errorf("write the files of commit %s: %w", commit, err)
	}
	return c, nil
}

// Remove deletes the checkout's files.
func (c *Checkout) Remove() error {
	return os.RemoveAll(c.tmp)
}

// git runs git in dir with env added to the environment, and returns its
// output trimmed, or an error with the first line git wrote to stderr.
func git(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n"); msg != "" {
			return "", fmt.Errorf("git %s: %s", args[0], msg)
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimSpace(string(out)), nil
}
