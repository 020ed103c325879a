// Package atomicfile writes files so that a reader (or a crash) sees either the old content or
// the new, never a mix: write a temporary file beside the target, fsync it, rename it over the
// target, fsync the directory.
package atomicfile
