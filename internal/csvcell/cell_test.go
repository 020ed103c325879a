package csvcell

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCellsRoundTrip(t *testing.T) {
	for _, c := range []struct{ in, safe, text string }{
		{"=1+1", "'=1+1", "'=1+1"},
		{"@SUM(1)", "'@SUM(1)", "'@SUM(1)"},
		{"+15551234567", "'+15551234567", "'+15551234567"},
		{"-5", "'-5", "'-5"},
		{"\tx", "'\tx", "'\tx"},
		{"\rx", "'\rx", "'\rx"},
		{"00123", "00123", "'00123"},
		{"1.5", "1.5", "'1.5"},
		{"grower-0001", "grower-0001", "grower-0001"},
		{"'tis", "'tis", "'tis"},
		{"", "", ""},
	} {
		assert.Equal(t, c.safe, Safe(c.in), c.in)
		assert.Equal(t, c.text, SafeText(c.in), c.in)
		assert.Equal(t, c.in, Plain(Safe(c.in)), c.in)
		assert.Equal(t, c.in, Plain(SafeText(c.in)), c.in)
	}
	assert.True(t, ScientificNumber("1.23E+05"))
	assert.True(t, ScientificNumber("1.55e+10"))
	assert.False(t, ScientificNumber("grower-1E5x"))

	var b bytes.Buffer
	w := NewWriter(&b, false)
	assert.NoError(t, w.Write([]string{"=1+1", "42"}))
	w.Flush()
	assert.Equal(t, "'=1+1,42\n", b.String())
}
