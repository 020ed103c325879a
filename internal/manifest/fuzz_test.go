package manifest

import (
	"bytes"
	"testing"
)

// The readers take arbitrary bytes without panicking, and a manifest without problems keeps
// its invariants. `go test` runs the seed corpus; `make fuzz` fuzzes for longer.

func fuzzSource() mapSource {
	return mapSource{files: map[string]string{"tokens/t": "tok\n", "g.csv": "externalId,provider\ng9,\n"},
		env: map[string]string{"A": "a", "B": ""}}
}

func checkInvariants(t *testing.T, m *Manifest, ps Problems) {
	if len(ps) > 0 {
		for _, p := range ps {
			if p.File == "" || p.Message == "" {
				t.Fatalf("problem without location or message: %+v", p)
			}
		}
		return
	}
	seen := map[string]bool{}
	for _, g := range m.Growers {
		if g.ExternalID == "" || seen[g.ExternalID] {
			t.Fatalf("bad externalId %q in a valid manifest", g.ExternalID)
		}
		seen[g.ExternalID] = true
		for _, c := range g.Connections {
			for _, f := range c.Provider.Required {
				if !c.Fields.Has(f) {
					t.Fatalf("valid manifest misses %s.%s", c.Provider.Name, f)
				}
			}
		}
	}
}

func FuzzYAML(f *testing.F) {
	for _, seed := range []string{
		validYAML,
		"version: 1\ngrowers:\n  - externalId: g1\n",
		"growers: [{externalId: a, connections: {JohnDeere: {refreshToken: x, clientKey: k, clientSecret: s, clientEnvironment: STAGE}}}]",
		"a: &x {b: *x}\n",
		"growers:\n  - &g {externalId: a}\n  - *g\n",
		"defaults: {CNHI: [1]}\napps: [{provider: CNHI, appName: a, clientEnvironment: STAGE, scopes: [1]}]\n",
		"growersCsv: g.csv\n",
		"\xff\xfe\x00",
		"- - -\n",
		"growers:\n  - externalId: '${A}'\n    connections: {Valley: {password: '${file:tokens/t}', apid: '$${x}'}}\n",
		"<<: {a: 1}\n",
		"version: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, ps := Parse("m.yaml", bytes.NewReader(data), fuzzSource())
		checkInvariants(t, m, ps)
	})
}

func FuzzCSV(f *testing.F) {
	for _, seed := range []string{
		"externalId,provider,name,refreshToken,clientKey,clientSecret,clientEnvironment\ng1,JohnDeere,Jane,rt,k,s,STAGE\ng1,,Jane,,,,\n",
		"externalId,provider\n",
		"externalId,provider\ng1\n",
		"\ufeffexternalId,provider,email\ng1,,a@b.c\n",
		"externalId,provider,address\ng1,,\"multi\nline\"\n",
		"externalId,provider\n\"unterminated\n",
		"a,b,c\n1,2,3\n",
		"externalId,provider,refreshToken\ng1,AgLeader,${file:tokens/t}\n",
		"",
		",,,\n,,,\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, ps := Parse("g.csv", bytes.NewReader(data), fuzzSource())
		checkInvariants(t, m, ps)
	})
}
