package plan

import (
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Source gives the reader what it needs from outside: environment variables and files. The
// command passes the real environment and file system; tests pass maps.
type Source interface {
	// Getenv returns an environment variable and whether it is set.
	Getenv(name string) (string, bool)
	// Open opens a file; name is already joined with the directory of the file that refers to it.
	Open(name string) (io.ReadCloser, error)
}

// maxSecretFile bounds a ${file:PATH} reference.
const maxSecretFile = 1 << 20

// ref is a parsed value: a literal, an environment variable or a file.
type ref struct {
	kind  refKind
	value string // literal value, variable name or path
}

type refKind int

const (
	refLiteral refKind = iota
	refEnv
	refFile
)

// parseRef reads "${NAME}", "${file:PATH}" or a literal; "$${" escapes a literal "${".
func parseRef(s string) ref {
	if strings.HasPrefix(s, "$${") {
		return ref{kind: refLiteral, value: s[1:]}
	}
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		inner := s[2 : len(s)-1]
		if p, ok := strings.CutPrefix(inner, "file:"); ok && p != "" {
			return ref{kind: refFile, value: p}
		}
		if inner != "" && !strings.ContainsAny(inner, "{}$ ") {
			return ref{kind: refEnv, value: inner}
		}
	}
	return ref{kind: refLiteral, value: s}
}

// resolver resolves references relative to one file's directory and caches file reads (a
// default shared by many growers is read once).
type resolver struct {
	src   Source
	dir   string
	files map[string]string
}

func newResolver(src Source, file string) *resolver {
	return &resolver{src: src, dir: filepath.Dir(file), files: map[string]string{}}
}

// errRef is a resolution failure; its message names the variable or path, never a value.
type errRef struct{ msg string }

func (e errRef) Error() string { return e.msg }

// resolve returns the value of s. literal reports whether s was written literally.
func (r *resolver) resolve(s string) (v leaf.Secret, literal bool, err error) {
	ref := parseRef(s)
	switch ref.kind {
	case refEnv:
		val, ok := r.src.Getenv(ref.value)
		if !ok {
			return "", false, errRef{"environment variable " + ref.value + " is not set"}
		}
		return leaf.Secret(val), false, nil
	case refFile:
		p := ref.value
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.dir, filepath.FromSlash(p))
		}
		if val, ok := r.files[p]; ok {
			return leaf.Secret(val), false, nil
		}
		val, err := r.readFile(p)
		if err != nil {
			return "", false, err
		}
		r.files[p] = val
		return leaf.Secret(val), false, nil
	}
	return leaf.Secret(ref.value), true, nil
}

func (r *resolver) readFile(p string) (string, error) {
	f, err := r.src.Open(p)
	if err != nil {
		reason := "cannot be read"
		if errors.Is(err, os.ErrNotExist) {
			reason = "does not exist"
		} else if errors.Is(err, os.ErrPermission) {
			reason = "is not readable (permission denied)"
		}
		return "", errRef{"file " + path.Clean(filepath.ToSlash(p)) + " " + reason}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", errRef{"file " + filepath.ToSlash(p) + " cannot be read"}
	}
	if len(data) > maxSecretFile {
		return "", errRef{"file " + filepath.ToSlash(p) + " is larger than 1 MiB"}
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}
