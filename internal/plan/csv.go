package plan

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gocarina/gocsv"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// growerColumns are the CSV columns that describe the grower rather than a credential.
var growerColumns = []string{"externalId", "provider", "name", "email", "phone", "address"}

// csvRow is the grower part of one row, as gocsv decodes it by header name. Credential
// columns are not listed here: they come from the provider table (knownColumns) and are read
// from the row's cells by column name, so adding a provider field needs no change here.
type csvRow struct {
	ExternalID string `csv:"externalId"`
	Provider   string `csv:"provider"`
	Name       string `csv:"name"`
	Email      string `csv:"email"`
	Phone      string `csv:"phone"`
	Address    string `csv:"address"`
}

// UnmarshalCSVWithFields implements gocsv.TypeUnmarshalCSVWithFields: gocsv hands every cell
// here instead of setting the fields by reflection, which is several times slower per cell.
func (r *csvRow) UnmarshalCSVWithFields(column, value string) error {
	switch column {
	case "externalId":
		r.ExternalID = value
	case "provider":
		r.Provider = value
	case "name":
		r.Name = value
	case "email":
		r.Email = value
	case "phone":
		r.Phone = value
	case "address":
		r.Address = value
	}
	return nil
}

// knownColumns are the columns a CSV manifest may have: the grower columns and every credential
// field of the provider table.
var knownColumns = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range append(slices.Clone(growerColumns), leaf.CredentialFieldNames()...) {
		m[c] = true
	}
	return m
}()

// errBadHeader stops decoding after the header problems were reported.
var errBadHeader = errors.New("bad header")

// csvBatch is how many data rows gocsv decodes at a time: memory stays bounded by a few
// batches, not by the file.
const csvBatch = 4096

// csvBatch is one batch of rows for gocsv: the header and up to csvBatch data rows, with the
// line of each row (gocsv reports none) and the problems found while reading them.
type rowBatch struct {
	rows     [][]string // rows[0] is the header
	marks    []rowMark
	problems []Problem
}

type rowMark struct {
	line int
	bad  bool
}

// Read and ReadAll make a batch a gocsv.CSVReader.
func (b *rowBatch) Read() ([]string, error) { return nil, errors.New("a row batch is read whole") }

func (b *rowBatch) ReadAll() ([][]string, error) { return b.rows, nil }

// rowReader splits the CSV into batches; it runs in its own goroutine, ahead of the decoding.
type rowReader struct {
	r      *csv.Reader
	file   string
	header []string
}

func (l *rowReader) problem(line int, format string, args ...any) Problem {
	return Problem{File: l.file, Line: line, Message: fmt.Sprintf(format, args...)}
}

func (l *rowReader) readError(err error) []Problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return []Problem{l.problem(pe.Line, "invalid CSV: %v", pe.Err)}
	}
	return nil
}

// next reads the next batch; done is true after the last one.
func (l *rowReader) next() (b *rowBatch, done bool) {
	b = &rowBatch{rows: make([][]string, 1, csvBatch+1)}
	b.rows[0] = l.header
	for len(b.marks) < csvBatch {
		rec, err := l.r.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				b.problems = append(b.problems, l.readError(err)...)
			}
			return b, true
		}
		line, _ := l.r.FieldPos(0)
		mark := rowMark{line: line}
		if len(rec) != len(l.header) {
			b.problems = append(b.problems, l.problem(line, "the row has %d cells, the header %d", len(rec), len(l.header)))
			mark.bad = true
			rec = make([]string, len(l.header))
		}
		b.rows = append(b.rows, rec)
		b.marks = append(b.marks, mark)
	}
	return b, false
}

// csvReader reads a CSV manifest: one row per grower and provider, rows of one grower merged.
type csvReader struct {
	b    *builder
	file string
	res  *resolver
	// credColumns are the indexes of the header's credential columns.
	credColumns []int
	header      []string
	raws        []rawField // scratch, reused for every row
	// growers by externalId, in order of first appearance.
	byID  map[string]*csvGrower
	order []*csvGrower
}

// csvGrower is a grower being assembled from its rows.
type csvGrower struct {
	g *Grower
	// lines records the row that set name, email, phone and address.
	lines [4]int32
	// providers records each connection's row.
	providers []csvConn
}

type csvConn struct {
	p    *leaf.Provider
	line int
}

func (c *csvReader) checkHeader(header []string) bool {
	ok := true
	seen := map[string]int{}
	c.header = header
	for i, h := range header {
		if knownColumns[h] && !slices.Contains(growerColumns, h) {
			c.credColumns = append(c.credColumns, i)
		}
		if !knownColumns[h] {
			c.b.problems.add(Loc{File: c.file, Line: 1}, h, "unknown column %q (column %d): not a grower column nor a credential field of any provider", h, i+1)
			ok = false
		}
		if first, dup := seen[h]; dup {
			c.b.problems.add(Loc{File: c.file, Line: 1}, h, "duplicate column %q (columns %d and %d)", h, first+1, i+1)
			ok = false
		}
		seen[h] = i
	}
	for _, req := range []string{"externalId", "provider"} {
		if _, has := seen[req]; !has {
			c.b.problems.add(Loc{File: c.file, Line: 1}, req, "missing required column %q", req)
			ok = false
		}
	}
	return ok
}

// parse decodes every row, a batch at a time through gocsv, and adds the growers to the builder.
// Splitting the file into rows runs one batch ahead in a goroutine.
func (c *csvReader) parse(r io.Reader) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		rr := rowReader{file: c.file}
		c.b.problems.ps = append(c.b.problems.ps, rr.readError(err)...)
		if errors.Is(err, io.EOF) {
			c.b.problems.add(c.loc(1), "", "the CSV file is empty (it needs a header row)")
		}
		return
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	if !c.checkHeader(header) {
		return
	}
	c.byID = map[string]*csvGrower{}

	batches := make(chan *rowBatch, 2)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(batches)
		rr := &rowReader{r: cr, file: c.file, header: header}
		for {
			b, done := rr.next()
			select {
			case batches <- b:
			case <-stop:
				return
			}
			if done {
				return
			}
		}
	}()
	var decoded []csvRow
	for b := range batches {
		c.b.problems.ps = append(c.b.problems.ps, b.problems...)
		if len(b.marks) == 0 {
			continue
		}
		decoded = decoded[:0]
		if err := gocsv.UnmarshalCSV(b, &decoded); err != nil {
			c.b.problems.add(c.loc(b.marks[0].line), "", "cannot decode rows: %v", err)
			return
		}
		for i := range decoded {
			if m := b.marks[i]; !m.bad {
				c.row(&decoded[i], b.rows[i+1], m.line)
			}
		}
	}
	for _, cg := range c.order {
		emailLoc := c.loc(int(cg.lines[1]))
		if c.b.checkGrower(cg.g, cg.g.Loc, emailLoc, "", true) {
			c.b.growers = append(c.b.growers, cg.g)
		}
	}
}

func (c *csvReader) loc(line int) Loc { return Loc{File: c.file, Line: line} }

// growerFields are the grower columns a row may set, in csvGrower.lines order.
var growerFields = [4]string{"name", "email", "phone", "address"}

func (c *csvReader) row(r *csvRow, cells []string, line int) {
	loc := c.loc(line)
	if strings.TrimSpace(r.ExternalID) == "" {
		c.b.problems.add(loc, "externalId", "externalId is required")
		return
	}
	cg := c.byID[r.ExternalID]
	if cg == nil {
		cg = &csvGrower{g: &Grower{ExternalID: r.ExternalID, Loc: loc}}
		c.byID[r.ExternalID] = cg
		c.order = append(c.order, cg)
	}
	g := cg.g
	for i, v := range [4]string{r.Name, r.Email, r.Phone, r.Address} {
		dst := [4]*string{&g.Name, &g.Email, &g.Phone, &g.Address}[i]
		switch {
		case v == "":
		case *dst == "":
			*dst = v
			cg.lines[i] = int32(line)
		case *dst != v:
			c.b.problems.add(loc, growerFields[i], "conflicting %s for grower %q: %q here, %q at %s",
				growerFields[i], r.ExternalID, v, *dst, c.loc(int(cg.lines[i])))
		}
	}
	raws := c.raws[:0]
	for _, i := range c.credColumns {
		if v := cells[i]; v != "" {
			raws = append(raws, rawField{name: c.header[i], value: v, loc: loc})
		}
	}
	c.raws = raws
	if r.Provider == "" {
		if len(raws) > 0 {
			c.b.problems.add(loc, "provider", "the row has credential cells (%s) but no provider", raws[0].name)
		}
		return
	}
	p := c.b.provider(r.Provider, loc, "provider")
	if p == nil {
		return
	}
	for _, pc := range cg.providers {
		if pc.p == p {
			c.b.problems.add(loc, "provider", "a second %s row for grower %q (first at %s)", p.Name, r.ExternalID, c.loc(pc.line))
			return
		}
	}
	cg.providers = append(cg.providers, csvConn{p: p, line: line})
	g.Connections = append(g.Connections, c.b.connection(p, raws, c.res, "", loc))
}
