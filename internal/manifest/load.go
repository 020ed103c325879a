package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
)

// Load reads the manifest file name through src: CSV when the name ends in .csv, YAML
// otherwise (with its growersCsv, relative to it). It returns every problem found; the
// manifest is usable only when there are none.
func Load(name string, src Source) (*Manifest, Problems) { return LoadWith(name, src, ReadOptions{}) }

// ReadOptions change how a manifest is read.
type ReadOptions struct {
	// Raw keeps references as written: a field holds "${NAME}" or "${file:PATH}", never what it
	// names (a --failed-rows file is written from such a reading, so it carries no secret the
	// manifest did not hold literally).
	Raw bool
	// Only, when set, keeps the growers whose externalId it accepts (the others are checked,
	// not kept).
	Only func(externalID string) bool
}

// LoadWith is Load with reading options.
func LoadWith(name string, src Source, opts ReadOptions) (*Manifest, Problems) {
	f, err := src.Open(name)
	if err != nil {
		return nil, Problems{{File: name, Message: fmt.Sprintf("cannot open the manifest: %v", err)}}
	}
	defer f.Close()
	return parseWith(name, f, src, opts)
}

// Parse reads a manifest from r; name locates it (problems, relative references, format).
// A CSV manifest is streamed (never held whole in memory); a YAML one is read whole.
func Parse(name string, r io.Reader, src Source) (*Manifest, Problems) {
	return parseWith(name, r, src, ReadOptions{})
}

func parseWith(name string, r io.Reader, src Source, opts ReadOptions) (*Manifest, Problems) {
	b := newBuilder()
	b.opts = opts
	h := sha256.New()
	conf := newConfinement(src, name)
	if isCSV(name) {
		(&csvReader{b: b, file: name, res: newResolver(src, name, conf).rawIf(opts.Raw)}).parse(io.TeeReader(r, h))
		return b.manifest("sha256:" + hex.EncodeToString(h.Sum(nil)))
	}
	data, err := readAll(r)
	if err != nil {
		return nil, Problems{{File: name, Message: fmt.Sprintf("cannot read the manifest: %v", err)}}
	}
	h.Write(data)
	res := newResolver(src, name, conf).rawIf(opts.Raw)
	csvPath, csvLoc, ok := newYAMLReader(b, name, res).parseChunked(data)
	if !ok {
		b = newBuilder()
		b.opts = opts
		csvPath, csvLoc = newYAMLReader(b, name, res).parse(data)
	}
	data = nil // the YAML is parsed; let the CSV stream in its place
	if csvPath != "" {
		p := csvPath
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(name), filepath.FromSlash(p))
		}
		if err := conf.check(p, csvPath); err != nil {
			b.problems.add(csvLoc, "growersCsv", "%v", err)
		} else if f, err := src.Open(p); err != nil {
			b.problems.add(csvLoc, "growersCsv", "file %s cannot be read: %v", filepath.ToSlash(p), err)
		} else {
			h.Write([]byte{0})
			(&csvReader{b: b, file: filepath.ToSlash(p), res: newResolver(src, p, conf).rawIf(opts.Raw)}).parse(io.TeeReader(f, h))
			f.Close()
		}
	}
	return b.manifest("sha256:" + hex.EncodeToString(h.Sum(nil)))
}

// readAll reads r whole, in one allocation when r tells its size.
func readAll(r io.Reader) ([]byte, error) {
	size := 0
	switch v := r.(type) {
	case interface{ Len() int }:
		size = v.Len()
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			size = int(fi.Size())
		}
	}
	if size == 0 {
		return io.ReadAll(r)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

func isCSV(name string) bool { return strings.EqualFold(filepath.Ext(name), ".csv") }
