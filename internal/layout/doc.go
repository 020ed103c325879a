// Package layout holds no code. Its tests hold the repository to the house rules that a
// reviewer would otherwise check by eye: every package has a doc.go that says what it owns, and
// no function is longer than 80 lines unless the comment above it says why ("longer than 80
// lines because ...").
package layout
