package report

import (
	"reflect"
	"strconv"
	"strings"
	"unicode"
)

// forTerminal returns a copy of the report whose every string can be
// printed to a terminal as it is: control characters (a newline, a
// carriage return, an escape sequence's ESC) and the characters that
// reorder text (bidirectional overrides) are written as Go escapes (\n,
// \x1b, \u202e). The inputs choose names, messages quote fields, and a
// name holding "\nREADINESS  100.0 / 100" or "\x1b[2J" must not forge a
// line of the report or clear the screen. The other formats escape by
// their own syntax. The text report prints no passing result, so the copy
// leaves them out: they are most of a large audit's results.
func forTerminal(r *Report) *Report {
	shown := *r
	shown.Results = make([]Result, 0, r.Summary.Fail+r.Summary.Skip+r.Summary.Error)
	for _, res := range r.Results {
		if res.Status != "pass" {
			shown.Results = append(shown.Results, res)
		}
	}
	v := reflect.New(reflect.TypeOf(shown)).Elem()
	copyEscaped(v, reflect.ValueOf(shown))
	out := v.Interface().(Report)
	return &out
}

// copyEscaped deep-copies src into dst, escaping every string on the way.
func copyEscaped(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.String:
		dst.SetString(EscapeTerminal(src.String()))
	case reflect.Struct:
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				copyEscaped(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
		for i := range src.Len() {
			copyEscaped(dst.Index(i), src.Index(i))
		}
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.New(src.Type().Elem()))
		copyEscaped(dst.Elem(), src.Elem())
	case reflect.Map:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeMapWithSize(src.Type(), src.Len()))
		for _, k := range src.MapKeys() {
			key := reflect.New(k.Type()).Elem()
			copyEscaped(key, k)
			val := reflect.New(src.Type().Elem()).Elem()
			copyEscaped(val, src.MapIndex(k))
			dst.SetMapIndex(key, val)
		}
	default:
		dst.Set(src)
	}
}

// EscapeTerminal writes the characters a terminal would act on, rather than
// show, as Go escapes; everything else is left as it is.
func EscapeTerminal(s string) string {
	if !strings.ContainsFunc(s, unsafeForTerminal) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeForTerminal(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeForTerminal(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
