package manifest

import (
	"io"
	"os"
	"strings"
)

// mapSource is a Source backed by maps: files by path, environment by name.
type mapSource struct {
	files map[string]string
	env   map[string]string
}

func (m mapSource) Getenv(k string) (string, bool) {
	v, ok := m.env[k]
	return v, ok
}

func (m mapSource) Open(name string) (io.ReadCloser, error) {
	if s, ok := m.files[name]; ok {
		return io.NopCloser(strings.NewReader(s)), nil
	}
	return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
}
