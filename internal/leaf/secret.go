package leaf

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Secret shows wherever it is printed, logged or marshalled.
const Redacted = "[redacted]"

// Secret is a string that never reveals its value by accident: it prints, formats, logs
// (slog) and marshals (JSON, text, YAML) as Redacted. Reveal returns the value, and only the
// request funnel and the fingerprinting code call it.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return Redacted }

// Format implements fmt.Formatter so that every verb, %x and %q included, is redacted.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by YAML, CSV and map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Kept is the value of a field a manifest marks "${keep}": keep what Leaf holds. It is never
// compared and never sent (the request funnel's callers refuse a body that holds it).
const Kept Secret = "\x00leaf-import:keep\x00"

// IsKept reports whether s is the Kept marker.
func (s Secret) IsKept() bool { return s == Kept }

// KeptField returns the name of the first kept field, "" when none is.
func (fs Fields) KeptField() string {
	for _, f := range fs {
		if f.Value.IsKept() {
			return f.Name
		}
	}
	return ""
}

// KeptError refuses a request that would send a kept field: the manifest does not hold its
// value. Plans refuse such changes first; this is the last guard.
type KeptError struct{ Field string }

func (e *KeptError) Error() string {
	return "leaf: " + e.Field + " is kept (${keep}): its value is not in the manifest and cannot be sent"
}
