package manifest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/leaf-import/leaf-import/internal/csvcell"
	"github.com/leaf-import/leaf-import/internal/leaf"
)

// growerColumns are the CSV columns that describe the grower rather than a credential.
var growerColumns = []string{"externalId", "provider", "name", "email", "phone", "address"}

// csvRow is the grower part of one row.
type csvRow struct {
	ExternalID, Provider, Name, Email, Phone, Address string
}

// knownColumns are the columns a CSV manifest may have: the grower columns and every credential
// field of the provider table, by their lower-case name (headers are matched case-insensitively).
var knownColumns = func() map[string]string {
	m := map[string]string{}
	for _, c := range append(slices.Clone(growerColumns), leaf.CredentialFieldNames()...) {
		m[strings.ToLower(c)] = c
	}
	return m
}()

// csvReader reads a CSV manifest: one row per grower and provider, rows of one grower merged.
type csvReader struct {
	b    *builder
	file string
	res  *resolver
	// credColumns are the indexes of the header's credential columns; growerAt the index of
	// each grower column (growerColumns order), -1 when absent.
	credColumns []int
	// configColumns are the indexes of the config.<flag> columns.
	configColumns []int
	growerAt      [6]int
	// header holds the canonical name of each column.
	header []string
	raws   []rawField // scratch, reused for every row
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
	// config holds the config.<flag> cells as first written.
	config []rawField
}

type csvConn struct {
	p    *leaf.Provider
	line int
}

// checkHeader maps the header's columns to their canonical names (any case is accepted) and
// reports unknown, duplicate and missing columns, with a hint when a name is close to a known
// one or the file seems to use another delimiter.
func (c *csvReader) checkHeader(header []string) bool {
	ok := true
	seen := map[string]int{}
	c.header = make([]string, len(header))
	c.growerAt = [6]int{-1, -1, -1, -1, -1, -1}
	at := c.loc(1)
	if len(header) == 1 && strings.Count(header[0], ";") > 0 {
		c.b.problems.add(at, "", "the header is one column holding ';': leaf-import reads comma-separated files (save the file as CSV with commas)")
		return false
	}
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), FailedRowsColumn) {
			c.b.partial = true // a --failed-rows file fed back: the column says why, and is not read
			continue
		}
		name, known := knownColumns[strings.ToLower(strings.TrimSpace(h))]
		if flag, isConfig := configColumn(h); isConfig {
			if flag == "" {
				hint := ""
				if near := nearest(strings.TrimSpace(h)[len("config."):], leaf.ConfigFlagNames()); near != "" {
					hint = " (did you mean config." + near + "?)"
				}
				c.b.problems.add(at, h, "unknown config flag in column %d %s%s", i+1, quoted(h), hint)
				ok = false
				continue
			}
			name, known = "config."+flag, true
			c.configColumns = append(c.configColumns, i)
		}
		if !known {
			hint := ""
			if near := nearestColumn(h); near != "" {
				hint = " (did you mean " + strconv.Quote(near) + "?)"
			}
			c.b.problems.add(at, h, "unknown column %s (column %d): not a grower column nor a credential field of any provider%s", quoted(h), i+1, hint)
			ok = false
			continue
		}
		c.header[i] = name
		if first, dup := seen[name]; dup {
			c.b.problems.add(at, name, "duplicate column %q (columns %d and %d)", name, first+1, i+1)
			ok = false
		}
		seen[name] = i
		if g := slices.Index(growerColumns, name); g >= 0 {
			c.growerAt[g] = i
		} else if !strings.HasPrefix(name, "config.") {
			c.credColumns = append(c.credColumns, i)
		}
	}
	for _, req := range []string{"externalId", "provider"} {
		if _, has := seen[req]; !has {
			c.b.problems.add(at, req, "missing required column %q", req)
			ok = false
		}
	}
	return ok
}

// configColumn reads a config.<flag> header: isConfig when it has the prefix, flag the flag's
// name ("" when no flag has that name, in any case).
func configColumn(h string) (flag string, isConfig bool) {
	h = strings.TrimSpace(h)
	if len(h) < len("config.") || !strings.EqualFold(h[:len("config.")], "config.") {
		return "", false
	}
	for _, f := range leaf.ConfigFlags {
		if strings.EqualFold(f.Name, h[len("config."):]) {
			return f.Name, true
		}
	}
	return "", true
}

// nearestColumn is the known column closest to an unknown name, when it is close enough to be a
// typo ("" otherwise).
func nearestColumn(h string) string {
	return nearest(h, slices.Collect(maps.Values(knownColumns)))
}

// nearest is the candidate closest to name ignoring case, when it is close enough to be a typo
// ("" otherwise); ties go to the first in order.
func nearest(name string, candidates []string) string {
	h := strings.ToLower(strings.TrimSpace(name))
	if len(h) > 40 {
		return ""
	}
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(h, strings.ToLower(c)); d < bestD || d == bestD && best != "" && c < best {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parse reads every row and adds the growers to the builder. Rows are read one at a time into
// a reused record: memory grows with the growers, not with the file.
func (c *csvReader) parse(r io.Reader) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		c.readError(err)
		if errors.Is(err, io.EOF) {
			c.b.problems.add(c.loc(1), "", "the CSV file is empty (it needs a header row)")
		}
		return
	}
	header = slices.Clone(header)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	if !c.checkHeader(header) {
		return
	}
	c.byID = map[string]*csvGrower{}
	for {
		rec, err := cr.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.readError(err)
			}
			break
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = csvcell.Plain(rec[i]) // the apostrophe a spreadsheet-safe export put before =, +, -, @ or a number
		}
		if len(rec) != len(c.header) {
			c.b.problems.add(c.loc(line), "", "the row has %d cells, the header %d", len(rec), len(c.header))
			continue
		}
		cell := func(g int) string {
			if i := c.growerAt[g]; i >= 0 {
				return rec[i]
			}
			return ""
		}
		row := csvRow{ExternalID: cell(0), Provider: cell(1), Name: cell(2), Email: cell(3), Phone: cell(4), Address: cell(5)}
		c.row(&row, rec, line)
	}
	for _, cg := range c.order {
		cg.g.Config = c.b.growerConfig(c.b.readConfig(cg.config, "config."))
		emailLoc := c.loc(int(cg.lines[1]))
		if c.b.checkGrower(cg.g, cg.g.Loc, emailLoc, "", true) && c.b.kept(cg.g) {
			c.b.growers = append(c.b.growers, cg.g)
		}
	}
}

// readError reports a CSV syntax error at its line.
func (c *csvReader) readError(err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		c.b.problems.add(c.loc(pe.Line), "", "invalid CSV: %v", pe.Err)
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
	id, plain := plainValue(r.ExternalID)
	if !plain {
		c.b.problems.add(loc, "externalId", errPlainRef, "externalId", quoted(r.ExternalID))
		return
	}
	r.ExternalID = id
	cg := c.byID[r.ExternalID]
	if cg == nil {
		cg = &csvGrower{g: &Grower{ExternalID: r.ExternalID, Loc: loc}}
		c.byID[r.ExternalID] = cg
		c.order = append(c.order, cg)
	}
	g := cg.g
	for i, v := range [4]string{r.Name, r.Email, r.Phone, r.Address} {
		dst := [4]*string{&g.Name, &g.Email, &g.Phone, &g.Address}[i]
		plain, ok := plainValue(v)
		if !ok {
			c.b.problems.add(loc, growerFields[i], errPlainRef, growerFields[i], quoted(v))
			continue
		}
		v = plain
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
	c.configCells(cg, cells, loc)
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

// configCells collects a row's config.<flag> cells: a grower's rows may repeat a flag, but not
// with another value.
func (c *csvReader) configCells(cg *csvGrower, cells []string, loc Loc) {
	for _, i := range c.configColumns {
		v := cells[i]
		if v == "" {
			continue
		}
		name := strings.TrimPrefix(c.header[i], "config.")
		dup := false
		for _, prev := range cg.config {
			if prev.name != name {
				continue
			}
			dup = true
			if prev.value != v {
				c.b.problems.add(loc, c.header[i], "conflicting %s for grower %q: %s here, %s at %s",
					c.header[i], cg.g.ExternalID, quoted(v), quoted(prev.value), prev.loc)
			}
		}
		if !dup {
			cg.config = append(cg.config, rawField{name: name, value: v, loc: loc})
		}
	}
}
