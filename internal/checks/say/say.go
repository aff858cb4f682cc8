// Package say words findings the same way in every check package: counts
// of replicas, lists cut to a readable length, and a condition's reason and
// message.
package say

import (
	"fmt"
	"strings"
)

// Replicas says "1 replica" or "N replicas".
func Replicas(n int32) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}

// Listed is how many pods or endpoints a message names before it says how
// many more there are.
const Listed = 5

// List joins the first few items and says how many more there are, so
// a workload of a hundred failing pods gives a readable message.
func List(items []string, sep string) string {
	if len(items) <= Listed {
		return strings.Join(items, sep)
	}
	return strings.Join(items[:Listed], sep) + fmt.Sprintf("%sand %d more", sep, len(items)-Listed)
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
