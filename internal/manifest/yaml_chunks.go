package manifest

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// A large manifest is one long `growers:` list. yaml.v3 parses a document into a node tree
// (hundreds of bytes per scalar) and cannot stream, so a 100,000-grower document would hold
// millions of nodes at once. Instead the block-style list is split into one small document per
// item; items are parsed in parallel, a batch at a time, and checked in order with their
// original line numbers. Whatever the splitter does not recognise (a flow-style list, tabs,
// document markers, an alias to an anchor in another item) is parsed whole, as before.

// yamlChunk is one item of the growers list: its text and the line it starts at.
type yamlChunk struct {
	line int
	text []byte
}

// chunkBatch is how many growers are parsed per batch.
const chunkBatch = 512

// splitGrowers finds a block-style `growers:` list at the top level. head is the document
// with the list's lines blanked (line numbers kept); ok is false when the document has no such
// list or has features the splitter leaves to the full parser.
func splitGrowers(data []byte) (head []byte, chunks []yamlChunk, ok bool) {
	lines := bytes.SplitAfter(data, []byte{'\n'})
	key := -1
	for i, l := range lines {
		t := strings.TrimRight(string(l), "\r\n")
		if t == "---" || t == "..." || strings.HasPrefix(t, "--- ") || strings.HasPrefix(t, "%") || strings.HasPrefix(t, "\t") {
			return nil, nil, false
		}
		if rest, isKey := strings.CutPrefix(t, "growers:"); isKey {
			rest = strings.TrimSpace(rest)
			if key >= 0 || (rest != "" && !strings.HasPrefix(rest, "#")) {
				return nil, nil, false
			}
			key = i
		}
	}
	if key < 0 {
		return nil, nil, false
	}
	// The list runs from its first item to the first line that is less indented, or as
	// indented but not an item. Blank and comment lines never end it.
	indent, end := -1, len(lines)
scan:
	for i := key + 1; i < len(lines); i++ {
		t := strings.TrimRight(string(lines[i]), "\r\n")
		trimmed := strings.TrimLeft(t, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(trimmed, "\t") {
			return nil, nil, false
		}
		ind := len(t) - len(trimmed)
		isItem := trimmed == "-" || strings.HasPrefix(trimmed, "- ")
		if indent < 0 {
			if !isItem {
				return nil, nil, false
			}
			indent = ind
		}
		switch {
		case ind == indent && isItem:
			chunks = append(chunks, yamlChunk{line: i + 1})
		case ind <= indent:
			end = i
			break scan
		}
	}
	if len(chunks) == 0 {
		return nil, nil, false
	}
	// Chunks are slices of data (no copy); the head keeps every other line and a blank line in
	// place of each list line, so that line numbers stay right.
	var headBuf bytes.Buffer
	headBuf.Grow(len(data)/8 + 1024)
	offset, cur := 0, -1
	for i, l := range lines {
		lineNo := i + 1
		if i < end && lineNo >= chunks[0].line {
			if cur+1 < len(chunks) && chunks[cur+1].line == lineNo {
				cur++
				chunks[cur].text = data[offset:offset]
			}
			chunks[cur].text = data[offset-len(chunks[cur].text) : offset+len(l)]
			headBuf.WriteByte('\n')
		} else {
			headBuf.Write(l)
		}
		offset += len(l)
	}
	return headBuf.Bytes(), chunks, true
}

// readItem is a grower item parsed and read by a worker.
type readItem struct {
	rg    *rawGrower
	probs []Problem
	err   error // a YAML syntax error
	bad   bool  // not a one-item sequence: parse the document whole
}

// growersChunked parses, reads and checks the chunks. Workers parse a batch of items and read
// each into a rawGrower while the previous batch is resolved and checked in order. It returns
// false when the document must be parsed whole instead (an alias refers to an anchor outside
// its item).
func (y *yamlReader) growersChunked(chunks []yamlChunk) bool {
	batches := make(chan []readItem, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(batches)
		workers := max(runtime.GOMAXPROCS(0), 1)
		for first := 0; first < len(chunks); first += chunkBatch {
			batch := make([]readItem, min(chunkBatch, len(chunks)-first))
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var fp fastParser
					for i := w; i < len(batch); i += workers {
						batch[i] = y.readChunk(chunks[first+i], first+i, &fp)
					}
				}()
			}
			wg.Wait()
			select {
			case batches <- batch:
			case <-stop:
				return
			}
		}
	}()
	for batch := range batches {
		for _, it := range batch {
			if it.bad {
				return false
			}
			y.b.problems.merge(it.probs)
			if it.err == nil {
				y.b.addGrower(it.rg, y.res)
			}
		}
	}
	return true
}

// readChunk parses one chunk and reads its grower item. It touches nothing shared but fp, the
// worker's own fast parser.
func (y *yamlReader) readChunk(c yamlChunk, idx int, fp *fastParser) readItem {
	wy := &yamlReader{file: y.file, offset: c.line - 1, probs: &collector{}}
	if doc, ok := fp.item(c.text); ok {
		return readItem{rg: wy.readGrower(doc.Content[0].Content[0], idx), probs: wy.probs.ps}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(c.text, &doc); err != nil {
		if strings.Contains(err.Error(), "unknown anchor") {
			return readItem{bad: true}
		}
		wy.syntaxProblem(err)
		return readItem{probs: wy.probs.ps, err: err}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.SequenceNode || len(doc.Content[0].Content) != 1 {
		return readItem{bad: true}
	}
	rg := wy.readGrower(doc.Content[0].Content[0], idx)
	return readItem{rg: rg, probs: wy.probs.ps}
}

// syntaxProblem reports a YAML syntax error at its line (offset applied).
func (y *yamlReader) syntaxProblem(err error) {
	line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		line += y.offset
	}
	y.probs.add(Loc{File: y.file, Line: line}, "", "invalid YAML: %s", yamlMessage(err))
}
