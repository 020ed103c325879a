package manifest

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Manifests are untrusted input: a cell or a key may hold control characters (a terminal escape
// sequence), bytes that are not UTF-8, or a whole binary file. Text taken from a manifest is
// shown only through these helpers, escaped and bounded.

// maxShown bounds untrusted text in a message, in runes.
const maxShown = 64

// quoted shows untrusted text quoted, escaped and cut to maxShown runes.
func quoted(s string) string {
	cut, n := clip(s)
	q := strconv.Quote(cut)
	if n > 0 {
		q += "…(" + strconv.Itoa(n) + " more bytes)"
	}
	return q
}

// clip cuts s to maxShown runes; it returns the kept part and how many bytes were cut.
func clip(s string) (string, int) {
	i, runes := 0, 0
	for i < len(s) && runes < maxShown {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
		runes++
	}
	return s[:i], len(s) - i
}

// safeText escapes what a terminal would act on in a message: control characters and invalid
// UTF-8 become Go escapes; the text is cut at maxMessage bytes.
func safeText(s string, max int) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, w := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && w == 1:
				b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
			case unicode.IsControl(r):
				q := strconv.QuoteRune(r)
				b.WriteString(q[1 : len(q)-1])
			default:
				b.WriteString(s[i : i+w])
			}
			i += w
		}
		s = b.String()
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Quoted shows untrusted text quoted, escaped and cut short: for the views of what a manifest
// said (a plan's field values).
func Quoted(s string) string { return quoted(s) }

// SafeText escapes untrusted text and bounds it to max bytes: for messages about a manifest's
// content made outside this package (a plan's refusals).
func SafeText(s string, max int) string { return safeText(s, max) }
