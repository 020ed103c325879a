// Package plan turns a manifest (package manifest) and Leaf's state (a leaf.Snapshot value)
// into a plan: the pure diff, the selection (--only, --provider, --kind), the safety valves,
// and the plan as a value (Plan: a sequence of changes walked as often as needed, and the
// Summary a pass returns). It renders plans (text, JSON, Markdown) and reads and writes the
// saved-plan format that apply --plan compares with a fresh plan.
//
// It does no I/O of its own: output goes to an io.Writer. Plans never hold a secret: a changed
// secret shows as a keyed fingerprint.
package plan
