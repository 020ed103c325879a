package plan

import (
	"testing"

	"github.com/leaf-import/leaf-import/internal/manifest"
	"io"
	"os"
	"strings"
)

// mapSource is a manifest.Source over maps: environment variables and files by name.
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
	return nil, os.ErrNotExist
}

// load reads manifest name from files, with env for its references.
func load(t *testing.T, name string, files map[string]string, env map[string]string) (*manifest.Manifest, manifest.Problems) {
	t.Helper()
	return manifest.Load(name, mapSource{files: files, env: env})
}
