// Package workspace owns what leaf-import keeps per Leaf account between runs: one directory
// per account (the canonical Leaf URL and the API owner) under the state directory, holding the
// account lock, the fingerprint key, what doctor measured (facts.json) and what runs learned
// (learned.json: list lag, pace), and one directory per mutating run (its metadata, journal and
// report); and, in the state directory's owners/ folder, a lock per API owner whatever the URL.
// It never holds a secret.
//
// It deals in files only: it does not talk to Leaf (settling an earlier run's requests in doubt
// is the run lifecycle's job) and does not decide what to change.
package workspace
