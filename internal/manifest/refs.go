package manifest

import (
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// ErrNotRegular is what a Source's Open returns for a file that is not a regular file (a FIFO,
// a device, a socket): reading it could block for good or never end.
var ErrNotRegular = errors.New("not a regular file")

// Source gives the reader what it needs from outside: environment variables and files. The
// command passes the real environment and file system; tests pass maps.
type Source interface {
	// Getenv returns an environment variable and whether it is set.
	Getenv(name string) (string, bool)
	// Open opens a file; name is already joined with the directory of the file that refers to it.
	Open(name string) (io.ReadCloser, error)
}

// FileRoots is implemented by a Source that lets file references (and growersCsv) reach
// directories beyond the manifest's own tree: AllowedDirs returns them (absolute paths).
type FileRoots interface {
	AllowedDirs() []string
}

// Linker is implemented by a Source that can resolve symbolic links: RealPath returns the path
// with every link resolved. Confinement is checked on the real path, so that a link inside the
// manifest's tree cannot lead outside it.
type Linker interface {
	RealPath(name string) (string, error)
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
	// refKeep is "${keep}": keep the value Leaf holds (see leaf.Kept).
	refKeep
)

// KeepMarker is how a manifest says "keep what Leaf holds" for a secret field.
const KeepMarker = "${keep}"

// parseRef reads "${NAME}", "${file:PATH}" or a literal; "$${" escapes a literal "${".
func parseRef(s string) ref {
	if strings.HasPrefix(s, "$${") {
		return ref{kind: refLiteral, value: s[1:]}
	}
	if s == KeepMarker {
		return ref{kind: refKeep}
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

// plainValue reads a grower field (externalId, name, email, phone, address) or a config value,
// where references are not resolved: those fields are not secrets, and a literal "${GNAME}" or
// "${MYSEC}@b.co" must never reach Leaf. Any "${" in the value is a reference, wherever it
// stands; "$${" writes a literal "${". It returns the value and false when s holds a reference.
func plainValue(s string) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		if i == 0 || s[i-1] != '$' {
			return "", false
		}
		b.WriteString(s[:i-1] + "${")
		s = s[i+2:]
	}
}

// errPlainRef is the problem of a reference in a grower field.
const errPlainRef = "%s holds a reference (%s); references are resolved only in connection, default and app fields: write the value itself ($${ writes a literal ${)"

// resolver resolves references relative to one file's directory and caches file reads (a
// default shared by many growers is read once). File references resolve only inside the
// confinement: the manifest's directory tree and the directories the source allows.
type resolver struct {
	// raw hands values back as written (ReadOptions.Raw).
	raw   bool
	src   Source
	dir   string
	conf  *confinement
	files map[string]string
}

func newResolver(src Source, file string, conf *confinement) *resolver {
	return &resolver{src: src, dir: filepath.Dir(file), conf: conf, files: map[string]string{}}
}

// rawIf makes the resolver hand back every value as written, references unresolved
// (ReadOptions.Raw).
func (r *resolver) rawIf(raw bool) *resolver {
	r.raw = raw
	return r
}

// confinement is where a manifest may read files: the directory tree of the top-level manifest
// and the directories its Source allows.
type confinement struct {
	src   Source
	roots []string // absolute
}

func newConfinement(src Source, manifest string) *confinement {
	c := &confinement{src: src}
	if root, err := filepath.Abs(filepath.Dir(manifest)); err == nil {
		c.roots = append(c.roots, root)
	}
	if fr, ok := src.(FileRoots); ok {
		for _, d := range fr.AllowedDirs() {
			if abs, err := filepath.Abs(d); err == nil {
				c.roots = append(c.roots, abs)
			}
		}
	}
	return c
}

// check refuses a path outside every root: lexically (an absolute path, a ".." that climbs
// out), then with symbolic links resolved when the source can resolve them.
func (c *confinement) check(p, written string) error {
	abs, err := filepath.Abs(p)
	if err != nil || !c.inside(abs, false) {
		return errRef{"file " + quoted(written) + " is outside the manifest's directory: file references resolve only inside it " +
			"(or in a directory named by --allow-file-dir)"}
	}
	if l, ok := c.src.(Linker); ok {
		real, err := l.RealPath(abs)
		if err == nil && !c.inside(real, true) {
			return errRef{"file " + quoted(written) + " leads outside the manifest's directory through a symbolic link: " +
				"file references resolve only inside it (or in a directory named by --allow-file-dir)"}
		}
	}
	return nil
}

func (c *confinement) inside(p string, real bool) bool {
	for _, root := range c.roots {
		if real {
			if r, err := c.src.(Linker).RealPath(root); err == nil {
				root = r
			}
		}
		rel, err := filepath.Rel(root, p)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// errRef is a resolution failure; its message names the variable or path, never a value.
type errRef struct{ msg string }

func (e errRef) Error() string { return e.msg }

// resolve returns the value of s. literal reports whether s was written literally.
func (r *resolver) resolve(s string) (v leaf.Secret, literal bool, err error) {
	ref := parseRef(s)
	if r.raw {
		return leaf.Secret(s), ref.kind == refLiteral, nil
	}
	switch ref.kind {
	case refKeep:
		return leaf.Kept, false, nil
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
		if err := r.conf.check(p, ref.value); err != nil {
			return "", false, err
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
		switch {
		case errors.Is(err, os.ErrNotExist):
			reason = "does not exist"
		case errors.Is(err, os.ErrPermission):
			reason = "is not readable (permission denied)"
		case errors.Is(err, ErrNotRegular):
			reason = "is not a regular file (a FIFO, device or socket is never read)"
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
