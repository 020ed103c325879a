package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Write replaces path with data, created with mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc replaces path with what write writes, streamed to the temporary file: the content
// is never held whole in memory.
func WriteFunc(path string, perm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := write(tmp); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// WriteIn replaces rel, a path inside root, with data, created with mode perm; missing parent
// directories are created with dirPerm. Nothing is written through a symbolic link: a link at
// any component of rel (or at rel itself) is refused, and root confines every operation, so a
// link swapped in between the check and the write still cannot lead outside it.
func WriteIn(root *os.Root, rel string, data []byte, perm, dirPerm os.FileMode) error {
	rel = filepath.Clean(filepath.FromSlash(rel))
	if !filepath.IsLocal(rel) {
		return fmt.Errorf("write %s: not a path inside %s", rel, root.Name())
	}
	parts := strings.Split(rel, string(filepath.Separator))
	for i := range parts {
		p := filepath.Join(parts[:i+1]...)
		fi, err := root.Lstat(p)
		last := i == len(parts)-1
		switch {
		case err == nil && fi.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("write %s: refusing to write through %s, a symbolic link", filepath.Join(root.Name(), rel), filepath.Join(root.Name(), p))
		case err == nil && !last && !fi.IsDir():
			return fmt.Errorf("write %s: %s is not a directory", filepath.Join(root.Name(), rel), filepath.Join(root.Name(), p))
		case err == nil && last && !fi.Mode().IsRegular():
			return fmt.Errorf("write %s: not a regular file", filepath.Join(root.Name(), rel))
		case errors.Is(err, fs.ErrNotExist) && !last:
			if err := root.Mkdir(p, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return err
		}
	}
	tmpName := filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+".tmp-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	tmp, err := root.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		_ = tmp.Close()
		_ = root.Remove(tmpName)
		return fmt.Errorf("write %s: %w", filepath.Join(root.Name(), rel), err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := root.Rename(tmpName, rel); err != nil {
		_ = root.Remove(tmpName)
		return fmt.Errorf("write %s: %w", filepath.Join(root.Name(), rel), err)
	}
	return nil
}
