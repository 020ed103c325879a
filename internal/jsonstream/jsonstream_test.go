package jsonstream

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type item struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

type doc struct {
	Version int    `json:"version"`
	Items   []item `json:"items"`
	Note    string `json:"note,omitempty"`
	Total   int    `json:"total"`
}

// A document streamed element by element is byte for byte the document encoded whole, for an
// array given empty ([]) or nil (null), with no element, one, or several, and with a tail known
// only at the end.
func TestStreamedIsEncodedWhole(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		for _, empty := range []string{"[]", "null"} {
			items := make([]item, n)
			for i := range items {
				items[i] = item{Name: "<a & b>", Tags: []string{"x", "y"}}
			}
			whole := doc{Version: 1, Items: items, Note: "café", Total: n}
			var want bytes.Buffer
			require.NoError(t, Encode(&want, whole, ""))

			head := doc{Version: 1, Items: []item{}, Note: "café"}
			if empty == "null" {
				head.Items = nil
			}
			if n == 0 && empty == "null" {
				whole.Items = nil
				want.Reset()
				require.NoError(t, Encode(&want, whole, ""))
			}
			var got bytes.Buffer
			a, err := Open(&got, head, "items", empty)
			require.NoError(t, err)
			for _, it := range items {
				var b bytes.Buffer
				require.NoError(t, Encode(&b, it, "    "))
				require.NoError(t, a.Add(bytes.TrimRight(b.Bytes(), "\n")))
			}
			head.Total = n
			_, after, err := Split(head, "items", empty)
			require.NoError(t, err)
			a.Tail(after)
			require.NoError(t, a.Close())
			if n == 0 && empty == "null" {
				// An empty stream is an empty array: what a reader wants, never null.
				var d doc
				require.NoError(t, json.Unmarshal(got.Bytes(), &d))
				assert.NotNil(t, d.Items)
				continue
			}
			assert.Equal(t, want.String(), got.String(), "n=%d empty=%s", n, empty)
			assert.Equal(t, n, a.Len())
		}
	}
}

func TestSplitNeedsTheField(t *testing.T) {
	_, _, err := Split(doc{Items: []item{{Name: "x"}}}, "items", "[]")
	assert.Error(t, err, "a field that is not empty cannot be split around")
	_, _, err = Split(doc{}, "missing", "null")
	assert.Error(t, err)
}
