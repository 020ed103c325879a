package manifest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// sameTree compares what the manifest reader uses of two node trees: kinds, values, lines,
// null tags and structure.
func sameTree(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.Line != b.Line || (a.Tag == "!!null") != (b.Tag == "!!null") || len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: fast {kind %d line %d tag %s %d children} != yaml.v3 {kind %d line %d tag %s %d children}",
			path, a.Kind, a.Line, a.Tag, len(a.Content), b.Kind, b.Line, b.Tag, len(b.Content))
	}
	if a.Kind == yaml.ScalarNode && a.Value != b.Value {
		return fmt.Errorf("%s: value %q != %q", path, a.Value, b.Value)
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

var fastSeeds = []string{
	"  - externalId: grower-0000001\n    name: Grower 1\n    email: grower1@example.com\n    connections:\n      JohnDeere: {refreshToken: jd-token-1, clientKey: jd-key, clientEnvironment: PRODUCTION}\n      CNHI:\n        refreshToken: x # comment\n        clientId: \"quoted id\"\n        clientSecret: 'it''s'\n",
	"- externalId: a\n  name:\n  email: ~\n",
	"  - externalId: a\n\n    # comment\n    connections: {}\n",
	"  - externalId: a\n    phone: \"+1555\"\n    address: '12 Main St, Ames'\n",
	"  - externalId: a\n    connections:\n      JohnDeere: {refreshToken: \"${JD}\", clientKey: k}\n",
	"  - externalId: a\n    name: yes\n",
	"  - externalId: a\n    name: 0123\n",
	"  - externalId: a\n    name: a: b\n",
	"  - externalId: a\n    connections:\n      - x\n",
	"  - externalId: a\n    name: |\n      text\n",
	"  - externalId: a\n    name: \"esc\\\"ape\"\n",
	"  - externalId: a\n    name: x\n  - externalId: b\n",
	"  -   externalId: a\n      name: b\n",
	"  - externalId: a\n    name: x #c\n    email: 'q' # c\n",
	"  - externalId: a\n    k: {a: b,c: d}\n",
	"  - externalId: a\n    k: {a: , b: c}\n",
	"  - externalId: a\n     name: bad indent\n",
	"  - externalId: a\r\n    name: crlf\r\n",
	"  - externalId: &x a\n",
	"  - externalId: a\n    name: ''\n",
	"  - externalId: a\n    name: \"\"\n",
}

func FuzzFastItem(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastItem(append([]byte(nil), data...))
		if !ok {
			return
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("the fast path accepted what yaml.v3 rejects (%v):\n%s", err, data)
		}
		if err := sameTree(fast, &doc, ""); err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
	})
}

func TestFastItemTakesTheCommonShapes(t *testing.T) {
	for _, s := range fastSeeds[:5] {
		_, ok := fastItem([]byte(s))
		assert.True(t, ok, "%q", s)
	}
	data := benchGrowers(50)
	_, chunks, ok := splitGrowers(data)
	require.True(t, ok)
	for _, c := range chunks {
		_, ok := fastItem(c.text)
		require.True(t, ok, "the benchmark's items take the fast path:\n%s", c.text)
	}
	for _, s := range []string{"  - externalId: a\n    name: yes\n", "  - externalId: a\n    connections:\n      - x\n",
		"  - externalId: a\n    name: |\n      text\n", "  - externalId: a\n    name: x\n  - externalId: b\n"} {
		_, ok := fastItem([]byte(s))
		assert.False(t, ok, "left to yaml.v3: %q", s)
	}
}

// benchGrowers is a YAML manifest of n growers with two connections each, in the shape of the
// plan's large-manifest benchmark.
func benchGrowers(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\ngrowers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - externalId: grower-%07d\n    name: Grower %d\n    email: grower%d@example.com\n    connections:\n", i, i, i)
		fmt.Fprintf(&b, "      JohnDeere: {refreshToken: jd-token-%d, clientKey: jd-key, clientSecret: jd-secret, clientEnvironment: PRODUCTION}\n", i)
		fmt.Fprintf(&b, "      CNHI: {refreshToken: cnhi-token-%d, clientId: cnhi-id, clientSecret: cnhi-secret, subscriptionKey: cnhi-sub, clientEnvironment: PRODUCTION}\n", i)
	}
	return []byte(b.String())
}
