// Package workspace owns what leaf-import keeps per Leaf account between runs: one directory
// per (Leaf URL, API owner) under the state directory, holding the account lock, the
// fingerprint key and one directory per mutating run (its metadata, journal and report). It
// never holds a secret.
//
// It deals in files only: it does not talk to Leaf (settling an earlier run's requests in doubt
// is the run lifecycle's job) and does not decide what to change.
package workspace
