// Package say words findings the same way in every check package: counts
// of things, lists cut to a readable length, and a condition's reason and
// message.
package say

import (
	"fmt"
	"strings"
)

// Count says how many of something there are: Count(1, "policy",
// "policies") is "1 policy", Count(3, ...) "3 policies".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Replicas says "1 replica" or "N replicas".
func Replicas(n int32) string { return Count(int(n), "replica", "replicas") }

// Listed is how many pods or endpoints a message names before it says how
// many more there are.
const Listed = 5

// List joins the first few (Listed) items and says how many more there
// are, so a workload of a hundred failing pods gives a readable message.
func List(items []string, sep string) string { return ListUpTo(items, sep, Listed) }

// ListUpTo is List with the first n items: "a, b, and 3 more".
func ListUpTo(items []string, sep string, n int) string {
	if len(items) <= n {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:n], sep) + fmt.Sprintf("%sand %d more", sep, len(items)-n)
}

// Reason formats a condition's or state's reason and message as
// ": Reason: message", leaving out what is empty.
func Reason(reason, message string) string {
	var parts []string
	for _, s := range []string{reason, Brief(message)} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ": ")
}

// Brief shortens a status message from the cluster to one line of
// reasonable length: they can carry whole stack traces.
func Brief(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 300
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
