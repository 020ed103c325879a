package main

import (
	"errors"
	"fmt"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
)

// outputPath is a file a command writes at its end, named by a flag.
type outputPath struct {
	flag, path string
	// dir is set for a directory (export --out).
	dir bool
}

// outputError is an output path that cannot be written: found before the first request.
type outputError struct{ err error }

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }

// checkOutputs checks every output path before anything is sent (exit 1), so that a run never
// does hours of work for a report, plan or metrics file it cannot write.
func checkOutputs(outs ...outputPath) error {
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		check := atomicfile.CheckWritable
		if o.dir {
			check = atomicfile.CheckDir
		}
		if err := check(o.path); err != nil {
			return withCode(exitError, &outputError{fmt.Errorf("%s %s: %w; nothing was sent to Leaf", o.flag, o.path, err)})
		}
	}
	return nil
}

func isOutputError(err error) bool {
	var oe *outputError
	return errors.As(err, &oe)
}
