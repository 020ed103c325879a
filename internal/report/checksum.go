package report

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
)

// Every journal line (format version 2) ends with a checksum field, "crc", written last:
//
//	{"type":"intent",...,"crc":"1a2b3c4d"}
//
// It is the CRC32C (Castagnoli) of the line's bytes before `,"crc"`, chained: the checksum of
// the line before is the starting value (0 for the first line, and after a line of an older
// journal without one). A line cut in the middle, an edited line and a deleted or reordered
// line each break the chain where they are, so they are told apart from a torn last line (a
// crash while it was written), the only damage a journal may carry and still be resumed.
//
// A chain cannot tell that lines were cut off the end; the seal can. After each write that
// reached the disk, the journal's writer records in a small file beside it (journal + ".seal")
// how many bytes and which last checksum the journal had. It is written after the journal's own
// fsync, so the journal is never shorter than its seal says unless something cut it.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const crcField = `,"crc":"`

// crcSuffixLen is the length of `,"crc":"xxxxxxxx"}`.
const crcSuffixLen = len(crcField) + 8 + 2

// Checksum appends the chained checksum field to line, a JSON object followed by a newline as
// EncodeLine returns it, and returns the new line and its checksum.
func Checksum(line []byte, prev uint32) ([]byte, uint32) {
	body := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("}"))
	sum := crc32.Update(prev, castagnoli, body)
	out := make([]byte, 0, len(body)+crcSuffixLen+1)
	out = append(out, body...)
	out = append(out, crcField...)
	out = fmt.Appendf(out, "%08x", sum)
	return append(out, '"', '}', '\n'), sum
}

// lineChecksum splits a line (without its newline) at its checksum field: the checksum it
// states, and whether it has one.
func lineChecksum(raw []byte) (body []byte, sum uint32, ok bool) {
	if len(raw) < crcSuffixLen || !bytes.HasSuffix(raw, []byte(`"}`)) {
		return raw, 0, false
	}
	at := len(raw) - crcSuffixLen
	if !bytes.Equal(raw[at:at+len(crcField)], []byte(crcField)) {
		return raw, 0, false
	}
	v, err := strconv.ParseUint(string(raw[at+len(crcField):len(raw)-2]), 16, 32)
	if err != nil {
		return raw, 0, false
	}
	return raw[:at], uint32(v), true
}

// LastChecksum returns the checksum stated by the last complete line of a journal's bytes (0 when
// it has none): where a writer appending to the journal continues the chain.
func LastChecksum(data []byte) uint32 {
	data = bytes.TrimSuffix(data, []byte("\n"))
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[i+1:]
	}
	_, sum, _ := lineChecksum(data)
	return sum
}

// Seal is what the journal's writer last knew was on disk.
type Seal struct {
	Size int64
	Last uint32
}

// SealPath is the seal file of a journal.
func SealPath(journal string) string { return journal + ".seal" }

// sealLen is the seal's size on disk: two big-endian numbers.
const sealLen = 12

// Encode returns the seal's bytes.
func (s Seal) Encode() []byte {
	b := make([]byte, sealLen)
	binary.BigEndian.PutUint64(b, uint64(s.Size))
	binary.BigEndian.PutUint32(b[8:], s.Last)
	return b
}

// ReadSeal reads a journal's seal; ok is false when it has none (an older journal, or one
// written by hand).
func ReadSeal(journal string) (Seal, bool, error) {
	b, err := os.ReadFile(SealPath(journal))
	if errors.Is(err, os.ErrNotExist) {
		return Seal{}, false, nil
	}
	if err != nil {
		return Seal{}, false, err
	}
	if len(b) != sealLen {
		return Seal{}, false, fmt.Errorf("%s: damaged (%d bytes)", SealPath(journal), len(b))
	}
	return Seal{Size: int64(binary.BigEndian.Uint64(b)), Last: binary.BigEndian.Uint32(b[8:])}, true, nil
}
