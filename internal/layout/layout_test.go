package layout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository's root, from this package's directory.
const root = "../.."

// packages walks the repository's Go packages (module directories apart from testdata and
// hidden ones) and calls fn with each directory's non-test files, parsed.
func packages(t *testing.T, fn func(dir string, fset *token.FileSet, files map[string]*ast.File)) {
	t.Helper()
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if dir != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		if dir != root {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return filepath.SkipDir // another module (deploy/check)
			}
		}
		fset := token.NewFileSet()
		files := map[string]*ast.File{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			n := e.Name()
			if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			files[n] = f
		}
		if len(files) > 0 {
			fn(dir, fset, files)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every package says what it owns in a doc.go, and only there.
func TestEveryPackageHasADocGo(t *testing.T) {
	n := 0
	packages(t, func(dir string, _ *token.FileSet, files map[string]*ast.File) {
		n++
		doc, ok := files["doc.go"]
		if !ok || doc.Doc == nil {
			t.Errorf("%s: no doc.go with a package comment", dir)
		}
		for name, f := range files {
			if name != "doc.go" && f.Doc != nil {
				t.Errorf("%s/%s: a second package comment (it belongs in doc.go)", dir, name)
			}
		}
	})
	if n < 10 {
		t.Fatalf("found %d packages: the walk is broken", n)
	}
}

// MaxLines is the longest a function may be without a comment that says why it is longer.
const MaxLines = 80

// No function is longer than MaxLines lines unless its comment says why.
func TestNoLongFunctionWithoutAReason(t *testing.T) {
	packages(t, func(dir string, fset *token.FileSet, files map[string]*ast.File) {
		for name, f := range files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
				if lines > MaxLines && !saysWhy(fd.Doc) {
					t.Errorf("%s/%s: %s is %d lines, with no comment saying why it is longer than %d", dir, name, fd.Name.Name, lines, MaxLines)
				}
			}
		}
	})
}

// saysWhy reports whether a function's comment says why it is longer than MaxLines.
func saysWhy(doc *ast.CommentGroup) bool {
	return doc != nil && strings.Contains(strings.Join(strings.Fields(doc.Text()), " "), "longer than 80 lines because")
}
