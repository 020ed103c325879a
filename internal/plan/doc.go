// Package plan turns a manifest (package manifest) and Leaf's state (a leaf.Snapshot value)
// into a plan: the pure diff, the selection (--only, --provider, --kind), the safety valves,
// and the plan as a value (Plan: a sequence of changes walked as often as needed, and the
// Summary a pass returns), and a change's one line of text. Package planview shows plans and
// keeps them (text, JSON, Markdown, the saved-plan file).
//
// It does no I/O of its own. Plans never hold a secret: a changed secret shows as a keyed
// fingerprint.
package plan
