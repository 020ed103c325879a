// Package plan owns the manifest and the plan: manifest types, the YAML and CSV readers (from an
// io.Reader, with every problem located at file:line and field), secret references, validation,
// the pure diff (desired, current) -> Plan, plan rendering (text and JSON) and the saved-plan
// format.
//
// It does no I/O of its own: files come through a Source the caller provides, Leaf state comes
// in as a leaf.Snapshot value, and output goes to an io.Writer. Plans never hold a secret: a
// changed secret shows as a keyed fingerprint.
package plan
