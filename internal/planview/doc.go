// Package planview shows plans and keeps them: the text plan (one line per change, then the
// conflicts, notices and the summary line), the JSON view, the Markdown of a pull-request
// comment, and the saved-plan file that `plan --out` writes and `apply --plan` and `show` read
// back (ReadSaved, CompareSaved: which saved changes still hold). Text and JSON are written in
// one pass over a plan's changes, with the summary the pass returns; the JSON through package
// jsonstream, so that a plan of a million changes is never held. The HTML page is htmlview's.
//
// It reads plans (package plan) and writes to an io.Writer; it computes nothing of its own.
package planview
