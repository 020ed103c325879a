package plan

import (
	"github.com/leaf-import/leaf-import/internal/manifest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]Limit{"5": {N: 5}, "0": {N: 0}, "10%": {Percent: 10, IsPercent: true}, " 2.5% ": {Percent: 2.5, IsPercent: true}} {
		got, err := ParseLimit(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-1", "x", "101%", "-3%", "NaN%", "5 %x"} {
		_, err := ParseLimit(bad)
		assert.Error(t, err, bad)
	}
}

func TestValves(t *testing.T) {
	p := &Summary{ByKind: map[Kind]*Counts{KindUser: {Create: 3, Delete: 2}, KindCredential: {Delete: 1, Noop: 10}}, Managed: 20}
	pct := func(v float64) *Limit { return &Limit{Percent: v, IsPercent: true} }
	assert.NoError(t, p.CheckValves(Valves{MaxChanges: -1}))
	assert.NoError(t, p.CheckValves(Valves{MaxChanges: 6}))
	var ve *ValveError
	assert.ErrorAs(t, p.CheckValves(Valves{MaxChanges: 5}), &ve)
	assert.NoError(t, p.CheckValves(Valves{MaxChanges: -1, MaxDeletes: &Limit{N: 3}}))
	assert.ErrorAs(t, p.CheckValves(Valves{MaxChanges: -1, MaxDeletes: &Limit{N: 2}}), &ve)
	assert.NoError(t, p.CheckValves(Valves{MaxChanges: -1, MaxDeletes: pct(15)}), "3 of 20 is 15%")
	err := p.CheckValves(Valves{MaxChanges: -1, MaxDeletes: pct(10)})
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), "deletes 3 of 20 managed objects, more than --max-deletes 10% allows")
}

func TestEstimate(t *testing.T) {
	p := &Plan{Reads: 13}
	s := &Summary{ByKind: map[Kind]*Counts{KindUser: {Create: 1, Delete: 1}, KindCredential: {Replace: 1}}}
	e := p.Estimate(s, 10)
	assert.Equal(t, 1+13+1+2+1, e.Requests)
	assert.Equal(t, 1.8, e.Seconds)
	assert.Zero(t, p.Estimate(s, 0).Seconds, "unlimited")
}

func TestFingerprints(t *testing.T) {
	a, b := NewFingerprinter([]byte("k")), NewFingerprinter([]byte("k"))
	assert.Equal(t, a.Of("secret"), b.Of("secret"), "one key, one fingerprint")
	assert.NotEqual(t, a.Of("secret"), a.Of("secret2"))
	assert.NotEqual(t, a.Of("secret"), NewFingerprinter([]byte("other")).Of("secret"))
	assert.NotEqual(t, NewFingerprinter(nil).Of("secret"), NewFingerprinter(nil).Of("secret"), "random per-run keys")
	assert.Regexp(t, `^fp:[0-9a-f]{8}$`, a.Of("x"))
}

// A plan is a value: a lazy plan walked twice gives the same changes and the same summary as
// the held plan of the same inputs; summarizing it changes nothing; Only returns a narrowed plan
// and leaves the plan it came from whole.
func TestAPlanIsAValue(t *testing.T) {
	m, ps := manifest.Parse("m.yaml", strings.NewReader("version: 1\ngrowers:\n"+
		"  - externalId: g1\n  - externalId: g2\n    name: New\n  - externalId: g3\n"), mapSource{})
	require.Empty(t, ps, ps.Error())
	snap := &leaf.Snapshot{Users: []leaf.User{{ID: "u2", ExternalID: "g2", Name: "Old"}, {ID: "u9", ExternalID: "gone"}}}
	opts := Options{Prune: true, Fingerprints: NewFingerprinter([]byte("k"))}
	held := Diff(m, snap, opts)
	lazy := Lazy(m, snap, opts)

	ids := func(p *Plan) []string {
		var out []string
		for c := range p.All() {
			out = append(out, c.ID+" "+string(c.Action))
		}
		return out
	}
	want := ids(held)
	require.Len(t, want, 4, "two creates, an update, a prune")
	heldSum, err := held.Summarize()
	require.NoError(t, err)

	first, err := lazy.Summarize()
	require.NoError(t, err)
	assert.Equal(t, heldSum.Total(), first.Total())
	assert.Equal(t, want, ids(lazy), "the first walk")
	assert.Equal(t, want, ids(lazy), "the second walk")
	walked, err := lazy.Walk(func(*Change) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, first, walked, "a walk finds the summary that Summarize does")

	creates := lazy.Only(func(c *Change) bool { return c.Action == ActionCreate })
	assert.Equal(t, []string{"user:g1 create", "user:g3 create"}, ids(creates))
	assert.Equal(t, want, ids(lazy), "Only left the plan it came from whole")
	narrowed, err := creates.Walk(func(*Change) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, first.Total(), narrowed.Total(), "a narrowed plan keeps the whole plan's summary")
}
