package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/leaf-import/leaf-import/internal/manifest"
)

// osSource is the real manifest.Source: the process environment and the file system. File
// references resolve inside the manifest's directory tree and the --allow-file-dir directories,
// symbolic links resolved first.
type osSource struct {
	lookup  func(string) (string, bool)
	allowed []string
}

func (s osSource) Getenv(name string) (string, bool) { return s.lookup(name) }

// Open opens a regular file only: a FIFO, a device or a socket in the manifest's directory would
// block the read (a FIFO until a writer comes) or never end, so it is refused with
// manifest.ErrNotRegular, without waiting.
func (s osSource) Open(name string) (io.ReadCloser, error) {
	if info, err := os.Stat(name); err != nil {
		return nil, err
	} else if !info.Mode().IsRegular() {
		return nil, manifest.ErrNotRegular
	}
	f, err := os.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() { // swapped after the first look
		f.Close()
		return nil, manifest.ErrNotRegular
	}
	return f, nil
}

func (s osSource) AllowedDirs() []string { return s.allowed }

func (s osSource) RealPath(name string) (string, error) { return filepath.EvalSymlinks(name) }

// loadManifest reads and checks a manifest. Problems are returned as a manifest.Problems error;
// a manifest holding literal secrets that group or others can read is warned about.
func loadManifest(f *Factory, name string, log *slog.Logger) (*manifest.Manifest, error) {
	m, problems := manifest.Load(name, f.manifestSource())
	if len(problems) > 0 {
		return nil, problems
	}
	for _, file := range m.LiteralSecretFiles {
		if info, err := os.Stat(file); err == nil && info.Mode().Perm()&0o077 != 0 {
			log.Warn(fmt.Sprintf("%s holds literal secrets and is readable by group or others (mode %04o): chmod 600 it, or use ${NAME} / ${file:PATH} references",
				file, info.Mode().Perm()))
		}
	}
	return m, nil
}

// manifestSource is where manifests and their references are read from: the file system and
// the environment, confined to the manifest's tree and --allow-file-dir.
func (f *Factory) manifestSource() manifest.Source {
	return osSource{lookup: f.LookupEnv, allowed: f.allowDirs}
}
