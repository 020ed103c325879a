//go:build unix

package main

import "syscall"

// openNonblock makes opening a FIFO return at once instead of waiting for a writer (the file
// is then refused as not regular); it changes nothing for a regular file.
const openNonblock = syscall.O_NONBLOCK
