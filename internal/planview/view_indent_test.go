package planview

import (
	"bytes"
	"encoding/json"
	"github.com/leaf-import/leaf-import/internal/plan"
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

// appendChangeJSON writes what encoding/json writes for a change view (HTML escaping off).
func FuzzChangeJSON(f *testing.F) {
	f.Add("credential:g1/JohnDeere", "g1", "fp:1234abcd", "", "manifest.yaml:3", true, 2)
	f.Add("user:\x00<&>\u2028\"\\\xff", "é\b\f\t\n\r", "", "old", "", false, 0)
	f.Fuzz(func(t *testing.T, id, ext, newV, oldV, src string, secret bool, n int) {
		cv := ChangeView{ID: id, Kind: plan.KindCredential, Action: plan.ActionReplace, ExternalID: ext, Provider: src,
			Reason: oldV + newV, Source: src, Base: id, LeafUserID: newV, Status: oldV, AppName: ext, Environment: newV}
		switch {
		case n%3 == 1:
			cv.Fields = []string{}
		case n%3 == 2:
			cv.Fields = []string{ext, newV}
			cv.FieldChanges = []plan.FieldChange{{Name: ext, Old: oldV, New: newV, Secret: secret}, {Name: id}}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&cv); err != nil {
			t.Fatal(err)
		}
		if got := appendChangeJSON(nil, &cv); !bytes.Equal(got, bytes.TrimRight(want.Bytes(), "\n")) {
			t.Fatalf("appendChangeJSON\n got %s\nwant %s", got, want.Bytes())
		}
	})
}
