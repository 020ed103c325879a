// Package exec sends every mutation leaf-import makes to Leaf, with an intent journaled before
// each request and an outcome after.
//
// Apply applies a plan: it schedules the changes (apps first; per grower the user before its
// config and credentials; one worker owns a grower at a time), taking them from the plan only
// as workers free up (a lazy plan is computed while it is applied), on one bounded errgroup for
// the whole run (scheduler.go). The one pause in a run is the named lock between a read of every
// user page and the user creates and deletes that move Leaf's list under it. Every request
// passes the client's shared pacer. An ambiguous create is reconciled by looking the object up
// (a create goes out again only when the lookup proves it absent, after a lookup window that
// grows on the list lag the run sees of its own creates: lag.go). Every change ends as one
// record.
//
// Send (send.go) is the same discipline for one mutation outside a plan: a Leaf Link key issued
// or revoked (link-keys), doctor's probe user created or deleted.
//
// The journal (journal.go) is crash-safe: each line checksummed and fsynced in group commits,
// the journal sealed. Resolve settles the intents an earlier run left without an outcome, by
// lookup, never by sending them again.
//
// It does not decide what to change (that is the plan's job), and it has no dry-run switch: a
// dry run never reaches this package.
package exec
