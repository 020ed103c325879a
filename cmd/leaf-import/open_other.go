//go:build !unix

package main

// openNonblock is 0 where the system has no FIFOs to wait on.
const openNonblock = 0
