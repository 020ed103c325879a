// Package change is the vocabulary plan, exec, report and the run lifecycle share to speak of a
// change: the kind of Leaf object it is about (Kind), what it does (Action), the requests it
// sends (Step) and how it ended (Status). The string values are the ones that plans, journals
// and reports carry, so a value means one thing in every file leaf-import writes.
//
// It holds names only: no behaviour beyond naming, and no dependency.
package change
