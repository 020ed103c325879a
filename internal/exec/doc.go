// Package exec applies a plan to Leaf: it schedules the changes (apps first; per grower the
// user before its credentials; one worker owns a grower at a time), taking them from the plan
// only as workers free up (a lazy plan is computed while it is applied), runs them on a bounded pool
// through the client (whose shared pacer every request passes), reconciles ambiguous creates by
// looking the object up (a create goes out again only when the lookup proves it absent, after a
// lookup window that grows on the list lag the run sees of its own creates: lag.go), writes the
// crash-safe journal (an intent before each mutating request, an outcome after, each line
// checksummed and the journal sealed), resolves a
// previous run's unresolved intents on resume, and reports every change as one record.
//
// It does not decide what to change (that is the plan's job), and it has no dry-run switch: a
// dry run never reaches this package.
package exec
