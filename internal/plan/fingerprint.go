package plan

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Fingerprinter shows a secret as a short keyed fingerprint, "fp:3f9a1c2e": HMAC-SHA256 under
// a key, so that a plan shows that a secret changed without a short password being
// brute-forceable from it.
type Fingerprinter struct {
	key []byte
	// macs reuses keyed HMACs: a plan of 100,000 growers takes 200,000 fingerprints.
	macs sync.Pool
}

// NewFingerprinter keys fingerprints with key (the account's key, or
// LEAF_IMPORT_FINGERPRINT_KEY), or with a random per-process key when key is empty (then the
// fingerprints match only within one process).
func NewFingerprinter(key []byte) *Fingerprinter {
	if len(key) == 0 {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return &Fingerprinter{key: k}
	}
	return &Fingerprinter{key: key}
}

// Of returns the fingerprint of s.
func (f *Fingerprinter) Of(s leaf.Secret) string {
	m, _ := f.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, f.key)
	}
	m.Reset()
	io.WriteString(m, s.Reveal())
	var sum [sha256.Size]byte
	out := m.Sum(sum[:0])
	f.macs.Put(m)
	var b [8]byte
	hex.Encode(b[:], out[:4])
	return "fp:" + string(b[:])
}
