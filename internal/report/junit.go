package report

import (
	"encoding/xml"
	"io"
	"strings"

	"github.com/plimsoll/plimsoll/internal/audit"
)

// JUnit XML as CI systems read it: one testsuite per layer, one testcase
// per check and object. Checks that could not be assessed appear as skipped
// testcases, and inputs that could not be read as errors in a suite of
// their own, so a partial run never looks green.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	// Timestamp is the report's time, in UTC, written without the zone:
	// the JUnit schema allows none.
	Timestamp  string           `xml:"timestamp,attr,omitempty"`
	Properties *junitProperties `xml:"properties"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func (s *junitSuite) add(c junitCase) {
	s.Cases = append(s.Cases, c)
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Error != nil:
		s.Errors++
	case c.Skipped != nil:
		s.Skipped++
	}
}

// junitCaseOf makes the testcase of one check on one object from its
// results: a failure if any result failed, else an error, else a skip.
func junitCaseOf(rs []Result) junitCase {
	first := rs[0]
	c := junitCase{Classname: first.Check, Name: first.Object.ID(), File: first.Source.File, Line: first.Source.Line}
	var msgs, lines []string
	fresh := false
	for _, res := range rs {
		if res.Status != "fail" {
			continue
		}
		msgs = append(msgs, res.Message)
		line := res.Message
		if res.isNew() {
			line, fresh = "new since the baseline: "+line, true
		}
		if res.Path != "" {
			line += " (" + res.Path + ")"
		}
		lines = append(lines, line)
	}
	where := first.Source.Where()
	switch {
	case len(msgs) > 0:
		text := strings.Join(lines, "\n")
		if where != "" {
			text += "\nat " + where
		}
		msg := strings.Join(msgs, "; ")
		if fresh {
			msg = "new since the baseline: " + msg
		}
		c.Failure = &junitProblem{Message: msg, Type: first.Severity, Text: text}
	case first.Status == "error":
		c.Error = &junitProblem{Message: first.Message, Type: "check-error"}
	case first.Status == "skip":
		c.Skipped = &junitSkipped{Message: first.Message}
	}
	return c
}

func writeJUnit(w io.Writer, r *Report, _ Options) error {
	// Results come sorted by object; testcases go by check, then object.
	// Cases hold indexes into r.Results: a large audit has hundreds of
	// thousands of results, and copies of them doubled the writer's memory.
	byCheck := map[string][][]int{}
	type caseKey struct {
		check  string
		object Object
		source Source
	}
	at := map[caseKey]int{}
	for k, res := range r.Results {
		key := caseKey{res.Check, *res.Object, *res.Source}
		i, ok := at[key]
		if !ok {
			i = len(byCheck[res.Check])
			at[key] = i
			byCheck[res.Check] = append(byCheck[res.Check], nil)
		}
		byCheck[res.Check][i] = append(byCheck[res.Check][i], k)
	}

	all := junitSuites{Name: r.Tool.Name}
	all.Suites = append(all.Suites, verdictSuite(r))
	for _, layer := range layerOrder(r) {
		suite := junitSuite{Name: layer}
		for _, c := range r.Checks {
			if c.Layer != layer {
				continue
			}
			if !c.Assessed {
				suite.add(junitCase{Classname: c.ID, Name: "(not assessed)", Skipped: &junitSkipped{Message: "not assessed: " + c.Reason}})
				continue
			}
			for _, idx := range byCheck[c.ID] {
				rs := make([]Result, len(idx))
				for j, k := range idx {
					rs[j] = r.Results[k]
				}
				suite.add(junitCaseOf(rs))
			}
		}
		if suite.Tests > 0 {
			all.Suites = append(all.Suites, suite)
		}
	}
	if len(r.InputErrors) > 0 {
		suite := junitSuite{Name: "inputs"}
		for _, e := range r.InputErrors {
			suite.add(junitCase{
				Classname: "input", Name: e.Where(), File: e.File, Line: e.Line,
				Error: &junitProblem{Message: e.Message, Type: "input-error"},
			})
		}
		all.Suites = append(all.Suites, suite)
	}
	for i := range all.Suites {
		all.Suites[i].Timestamp = strings.TrimSuffix(r.Time, "Z")
	}
	for _, s := range all.Suites {
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Skipped += s.Skipped
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// verdictSuite is the verdict as a test case of its own, first: it fails
// when the audit is not production-ready and is skipped when readiness
// cannot be claimed, so the suite is green only when it is ready.
// verdictSuite is the verdict as a testcase of its own, with what
// comparing with a baseline found as the suite's properties.
func verdictSuite(r *Report) junitSuite {
	v := r.Score.Verdict
	c := junitCase{Classname: "verdict", Name: "production-ready"}
	switch audit.Verdict(v.Status) {
	case audit.NotReady:
		c.Failure = &junitProblem{Message: v.Summary, Type: v.Status}
	case audit.Incomplete:
		c.Skipped = &junitSkipped{Message: v.Summary}
	}
	suite := junitSuite{Name: "verdict"}
	suite.add(c)
	if b := r.Baseline; b != nil {
		suite.Properties = &junitProperties{Property: []junitProperty{
			{"baseline", b.Source},
			{"baseline.comparison", b.counts()},
		}}
		if s := r.scoreChange(); s != "" {
			suite.Properties.Property = append(suite.Properties.Property, junitProperty{"baseline.score", s})
		}
	}
	return suite
}
