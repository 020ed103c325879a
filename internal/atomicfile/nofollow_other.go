//go:build !unix

package atomicfile

// noFollow is not available here: OpenAppend checks the link with Lstat instead.
const noFollow = 0
