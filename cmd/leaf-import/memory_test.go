package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The soft limit follows the live data, keeps its floor, and never passes the container's.
func TestMemoryLimitStaysInsideTheContainer(t *testing.T) {
	const mib = 1 << 20
	assert.Equal(t, int64(224*mib), memoryLimit(224*mib, 10*mib, 0), "the floor")
	assert.Equal(t, int64(540*mib), memoryLimit(224*mib, 400*mib, 0), "1.35 times the live data")
	assert.Equal(t, int64(460*mib), memoryLimit(224*mib, 400*mib, 460*mib), "never above the container's share")
	assert.Equal(t, int64(200*mib), memoryLimit(224*mib, 10*mib, 200*mib), "a small container wins over the floor")
}
