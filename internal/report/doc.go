// Package report owns the result of an apply: the record each change ends as, its JSON and CSV
// encodings, the journal line encodings, reading a report or journal back for a resume, and the
// summary. Reports are rewritten atomically (temporary file, fsync, rename) with mode 0600 and
// never hold a secret.
//
// It does not talk to Leaf.
package report
