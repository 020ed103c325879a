package manifest

import (
	"fmt"
	"unicode/utf8"
)

// Every value a manifest hands to Leaf has a maximum length, checked before anything is sent: a
// 10 MB name is a located problem at validate, not a 413 at apply. Leaf documents no limits;
// these are generous for real data and small enough that one bad cell cannot stall a plan or
// swell a report. The README lists them.
const (
	maxExternalID = 255
	maxName       = 255
	maxEmail      = 254 // RFC 5321's path limit
	maxPhone      = 64
	maxAddress    = 1024
	maxAppName    = 255
	// maxCredential bounds a credential or app field value, whether written in the manifest or
	// resolved from a variable or a file (a PEM key or a long refresh token fits).
	maxCredential = 64 << 10
)

// growerLimits are the grower fields' maximum lengths, in characters.
var growerLimits = [...]struct {
	field string
	max   int
	get   func(*Grower) string
}{
	{"externalId", maxExternalID, func(g *Grower) string { return g.ExternalID }},
	{"name", maxName, func(g *Grower) string { return g.Name }},
	{"email", maxEmail, func(g *Grower) string { return g.Email }},
	{"phone", maxPhone, func(g *Grower) string { return g.Phone }},
	{"address", maxAddress, func(g *Grower) string { return g.Address }},
}

// textProblem says what is wrong with a value written in a manifest, or "" when nothing is: it
// must be UTF-8, hold no control character other than tab and line breaks (what a YAML file
// may hold, so a CSV cell and a YAML "\e" escape are refused alike), and be at most max
// characters long.
func textProblem(s string, max int) string {
	n := 0
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !validRuneAt(s, i):
			return fmt.Sprintf("is not UTF-8 text (byte %d)", i+1)
		case forbiddenControl(r):
			return fmt.Sprintf("holds a control character (%U at byte %d); manifests hold text only", r, i+1)
		}
		n++
		if n > max {
			return fmt.Sprintf("is longer than %d characters (the limit for this field)", max)
		}
	}
	return ""
}

// validRuneAt reports whether the U+FFFD decoded at s[i] was written as such, not an invalid byte.
func validRuneAt(s string, i int) bool {
	_, w := utf8.DecodeRuneInString(s[i:])
	return w == 3
}

// forbiddenControl is a control character that YAML refuses in a stream: C0 other than tab, line
// feed and carriage return, DEL, and C1 other than NEL.
func forbiddenControl(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}

// checkGrowerText reports a grower field that is not text or is too long; false when any is.
func (b *builder) checkGrowerText(g *Grower, extLoc, emailLoc Loc, prefix string) bool {
	ok := true
	for _, l := range growerLimits {
		msg := textProblem(l.get(g), l.max)
		if msg == "" {
			continue
		}
		loc := g.Loc
		switch l.field {
		case "externalId":
			loc = extLoc
		case "email":
			loc = emailLoc
		}
		b.problems.add(loc, prefix+l.field, "%s %s", l.field, msg)
		ok = false
	}
	return ok
}
