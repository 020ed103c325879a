// Package lifecycle owns the life of a run against one Leaf account, from the account lock to
// the run's history: take the lock, settle what earlier runs left in doubt, read Leaf (counting
// the users recent runs created that a lagging list does not show yet), diff, compare a saved
// plan, apply, write the report and the journal in the run's directory, and record how the
// run ended. Plan runs the reading half of it and writes nothing but the fingerprint key.
//
// It does not parse flags or map results to exit codes (that is the command's job), decide what
// to change (the plan's), or send requests itself (exec and the client do).
package lifecycle
