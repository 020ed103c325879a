package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	p := &Plan{ByKind: map[Kind]*Counts{KindUser: {Create: 3, Delete: 2}, KindCredential: {Delete: 1, Noop: 10}}, Managed: 20}
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

func TestEstimateAndFormatting(t *testing.T) {
	p := &Plan{Reads: 13, ByKind: map[Kind]*Counts{KindUser: {Create: 1, Delete: 1}, KindCredential: {Replace: 1}}}
	e := p.Estimate(10)
	assert.Equal(t, 1+13+1+2+1, e.Requests)
	assert.Equal(t, 1.8, e.Seconds)
	assert.Zero(t, p.Estimate(0).Seconds, "unlimited")
	assert.Equal(t, "1,204", thousands(1204))
	assert.Equal(t, "1,000,000", thousands(1000000))
	assert.Equal(t, "999", thousands(999))
	assert.Equal(t, "35s", humanDuration(35))
	assert.Equal(t, "4m", humanDuration(241))
	assert.Equal(t, "2h10m", humanDuration(2*3600+600))
}

func TestCompareSaved(t *testing.T) {
	fresh := &Plan{Changes: []*Change{
		{ID: "user:a", Action: ActionUpdate, Base: "b1"},
		{ID: "user:b", Action: ActionCreate, Base: absentDigest},
		{ID: "credential:c/JohnDeere", Action: ActionReplace, Base: "new-base"},
		{ID: "user:extra", Action: ActionCreate, Base: absentDigest},
	}}
	saved := &View{Changes: []ChangeView{
		{ID: "user:a", Action: "update", Base: "b1"},
		{ID: "user:b", Action: "create", Base: absentDigest},
		{ID: "credential:c/JohnDeere", Action: "replace", Base: "old-base"},
		{ID: "user:gone", Action: "update", Base: "x"},
		{ID: "user:b2", Action: "update", Base: "x"},
	}}
	fresh.Changes = append(fresh.Changes, &Change{ID: "user:b2", Action: ActionCreate})
	s := saved.CompareSaved(fresh)
	fresh.Only(s.Keep)
	var apply []string
	for c := range fresh.All() {
		apply = append(apply, c.ID)
	}
	assert.Equal(t, []string{"user:a", "user:b"}, apply)
	assert.Equal(t, 2, s.Applied)
	require.Len(t, s.Stale, 3)
	assert.Equal(t, "credential:c/JohnDeere", s.Stale[0].Saved.ID)
	assert.Contains(t, s.Stale[0].Why, "changed since the plan was made")
	assert.Contains(t, s.Stale[1].Why, "now a create")
	assert.Contains(t, s.Stale[2].Why, "no longer needed")
	assert.Equal(t, []string{"user:extra"}, s.Extra)

	v := &View{LeafURL: "https://a", Account: "me", ManifestDigest: "sha256:1"}
	assert.NoError(t, v.CheckTarget("https://a", "me", "sha256:1"))
	assert.Error(t, v.CheckTarget("https://b", "me", "sha256:1"))
	assert.Error(t, v.CheckTarget("https://a", "you", "sha256:1"))
	assert.Error(t, v.CheckTarget("https://a", "me", "sha256:2"))
}

func TestFingerprints(t *testing.T) {
	a, b := NewFingerprinter([]byte("k")), NewFingerprinter([]byte("k"))
	assert.Equal(t, a.Of("secret"), b.Of("secret"), "one key, one fingerprint")
	assert.NotEqual(t, a.Of("secret"), a.Of("secret2"))
	assert.NotEqual(t, a.Of("secret"), NewFingerprinter([]byte("other")).Of("secret"))
	assert.NotEqual(t, NewFingerprinter(nil).Of("secret"), NewFingerprinter(nil).Of("secret"), "random per-run keys")
	assert.Regexp(t, `^fp:[0-9a-f]{8}$`, a.Of("x"))
}
