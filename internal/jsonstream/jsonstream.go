package jsonstream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Encode appends v to buf as JSON indented by two spaces after prefix, HTML not escaped, with
// a final newline (as json.Encoder writes it).
func Encode(buf *bytes.Buffer, v any, prefix string) error {
	enc := json.NewEncoder(buf)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Split encodes v, a struct whose top-level field named field encodes as empty ("[]" for an
// empty slice, "null" for a nil one), and returns what comes before that field's value and
// what comes after it.
func Split(v any, field, empty string) (before, after []byte, err error) {
	var b bytes.Buffer
	if err := Encode(&b, v, ""); err != nil {
		return nil, nil, err
	}
	marker := []byte("\n  \"" + field + "\": " + empty)
	i := bytes.Index(b.Bytes(), marker)
	if i < 0 {
		return nil, nil, fmt.Errorf("jsonstream: no top-level field %q that encodes as %s", field, empty)
	}
	return b.Bytes()[:i], b.Bytes()[i+len(marker):], nil
}

// Array is a document being written with its one streamed array.
type Array struct {
	bw   *bufio.Writer
	tail []byte
	n    int
}

// Open writes what comes before the array field of head (which must encode as empty, see
// Split) to w, and keeps the rest for Close.
func Open(w io.Writer, head any, field, empty string) (*Array, error) {
	before, after, err := Split(head, field, empty)
	if err != nil {
		return nil, err
	}
	a := &Array{bw: bufio.NewWriterSize(w, 256<<10), tail: after}
	a.bw.Write(before)
	a.bw.WriteString("\n  \"" + field + "\": [")
	return a, nil
}

// Add writes one element: elem is its JSON, compact or indented for its depth (four spaces),
// without a final newline.
func (a *Array) Add(elem []byte) error {
	if a.n > 0 {
		a.bw.WriteByte(',')
	}
	a.bw.WriteString("\n    ")
	a.n++
	_, err := a.bw.Write(elem)
	return err
}

// Tail replaces what Close writes after the array: what comes after it in a head known only
// once every element is written (counts made while streaming), from Split.
func (a *Array) Tail(after []byte) { a.tail = after }

// Len is how many elements were added.
func (a *Array) Len() int { return a.n }

// Close ends the array, writes the tail and flushes.
func (a *Array) Close() error {
	if a.n > 0 {
		a.bw.WriteString("\n  ]")
	} else {
		a.bw.WriteString("]")
	}
	a.bw.Write(a.tail)
	return a.bw.Flush()
}
