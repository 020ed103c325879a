// Package lifecycle owns the life of a run against one Leaf account, from the account lock to
// the run's history. Apply: take the lock, settle what earlier runs left in doubt, read Leaf
// (counting the users recent runs created that a lagging list does not show yet), plan, compare
// a saved plan, apply through exec, write the report and the journal in the run's directory, and
// record how the run ended. Link-keys and doctor run in the same shell (shell.go), so that
// whatever they leave in doubt is settled by the next run of the account. Plan runs the reading
// half and writes nothing but the fingerprint key; status and export only read.
//
// It reads Leaf itself (the state, configs, API keys, doctor's measurements), but every
// mutating request goes through exec: a plan's changes through exec.Apply, link-keys' keys and
// doctor's probe through exec.Send, each with an intent journaled before it and an outcome after.
//
// It does not parse flags or map results to exit codes (that is the command's job), or decide
// what to change (the plan's).
package lifecycle
