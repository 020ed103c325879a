package csvcell

import (
	"encoding/csv"
	"io"
	"regexp"
	"strings"
)

// formulaStart are the first characters a spreadsheet may take for a formula.
const formulaStart = "=+-@\t\r"

// numberLike is text a spreadsheet reads as a number: digits with at most one decimal point, a
// grouping comma, or an exponent.
var numberLike = regexp.MustCompile(`^[0-9][0-9,]*(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// Safe is s as a cell a spreadsheet shows as the text it is and never runs: a leading apostrophe
// when s starts like a formula. Numbers stay numbers (a report's counts and durations).
func Safe(s string) string {
	if s != "" && strings.ContainsRune(formulaStart, rune(s[0])) {
		return "'" + s
	}
	return s
}

// SafeText is Safe for a column that holds text only (an id, a phone, a name in a manifest):
// text that a spreadsheet would turn into a number is kept as text too.
func SafeText(s string) string {
	if numberLike.MatchString(s) {
		return "'" + s
	}
	return Safe(s)
}

// Plain takes off the apostrophe Safe or SafeText put on a cell: only before what they protect,
// so that a value that begins with an apostrophe of its own ("'tis") keeps it.
func Plain(s string) string {
	if len(s) < 2 || s[0] != '\'' {
		return s
	}
	rest := s[1:]
	if strings.ContainsRune(formulaStart, rune(rest[0])) || numberLike.MatchString(rest) {
		return rest
	}
	return s
}

// ScientificNumber reports whether s looks like a number a spreadsheet rewrote in scientific
// notation (1.23E+05 for an id or a phone pasted from a spreadsheet): the original is lost.
var ScientificNumber = regexp.MustCompile(`^[+-]?[0-9](\.[0-9]+)?[eE][+-]?[0-9]+$`).MatchString

// Writer is a CSV writer whose every cell goes through Safe (SafeText with Text set). It
// satisfies gocsv's CSVWriter.
type Writer struct {
	*csv.Writer
	// Text keeps numbers as text too (a manifest's columns).
	Text bool
	row  []string
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer, text bool) *Writer { return &Writer{Writer: csv.NewWriter(w), Text: text} }

// Write writes one row, each cell made safe.
func (w *Writer) Write(row []string) error {
	w.row = append(w.row[:0], row...)
	for i, c := range w.row {
		if w.Text {
			w.row[i] = SafeText(c)
		} else {
			w.row[i] = Safe(c)
		}
	}
	return w.Writer.Write(w.row)
}

// Reader is a CSV reader that takes off what Writer put on every cell. It satisfies gocsv's
// CSVReader.
type Reader struct{ *csv.Reader }

// NewReader returns a Reader on r.
func NewReader(r io.Reader) Reader { return Reader{csv.NewReader(r)} }

// Read reads one row, each cell made plain.
func (r Reader) Read() ([]string, error) {
	rec, err := r.Reader.Read()
	for i := range rec {
		rec[i] = Plain(rec[i])
	}
	return rec, err
}

// ReadAll reads every row, each cell made plain.
func (r Reader) ReadAll() ([][]string, error) {
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}
