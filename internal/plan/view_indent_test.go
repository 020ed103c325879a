package plan

import (
	"bytes"
	"encoding/json"
	"testing"
)

// appendIndented writes what json.Indent writes, on change views and on JSON that exercises
// strings with brackets, escapes and empty containers.
func FuzzAppendIndented(f *testing.F) {
	f.Add(`{"id":"credential:g1/JohnDeere","fields":[],"fieldChanges":[{"name":"refreshToken","new":"fp:1234abcd","secret":true}],"base":"x"}`)
	f.Add(`{"a":"{[,:]}\"\\","b":{},"c":[1,2,{"d":null}],"e":"\u2028<>&"}`)
	f.Add(`[[],[{}],"",0.5,-1e3,true,false]`)
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		var compact bytes.Buffer
		enc := json.NewEncoder(&compact)
		enc.SetEscapeHTML(false)
		if enc.Encode(v) != nil {
			return
		}
		src := bytes.TrimRight(compact.Bytes(), "\n")
		var want bytes.Buffer
		if err := json.Indent(&want, src, "    ", "  "); err != nil {
			t.Fatal(err)
		}
		if got := appendIndented(nil, src, "    "); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendIndented(%s)\n got %s\nwant %s", src, got, want.Bytes())
		}
	})
}
