package leaf_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// closedURL is a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// A Leaf that has never answered fails within the first-contact budget (20 s), naming the URL
// and the cause, not after the 3-minute budget of a request to a Leaf that did answer.
func TestALeafThatNeverAnsweredFailsFast(t *testing.T) {
	clk := newFakeClock()
	url := closedURL(t)
	c, err := leaf.NewClient(leaf.WithBaseURL(url), leaf.WithLogin("owner", "password-1"), leaf.WithClock(clk),
		leaf.WithPacer(leaf.NewPacer(0, 1, clk)))
	require.NoError(t, err)
	err = c.Authenticate(context.Background())
	var unreachable *leaf.UnreachableError
	require.True(t, errors.As(err, &unreachable), "%v", err)
	assert.LessOrEqual(t, clk.total(), 20*time.Second)
	assert.Greater(t, unreachable.Attempts, 2, "it retried first")
	assert.Contains(t, err.Error(), "cannot reach Leaf at "+url)
	assert.Contains(t, err.Error(), "connection refused")
	assert.False(t, leaf.IsAuth(err))
}

// A wrong path in the URL is said to be one: Leaf's 404 at the token endpoint is not a failed
// authentication.
func TestA404AtAuthenticateNamesTheURL(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"title":"Not Found","detail":"no route in the sandbox for this path"}`))
	}))
	defer ts.Close()
	c, err := leaf.NewClient(leaf.WithBaseURL(ts.URL+"/wrong"), leaf.WithLogin("owner", "sandbox"))
	require.NoError(t, err)
	err = c.Authenticate(context.Background())
	require.Error(t, err)
	assert.False(t, leaf.IsAuth(err), "not an authentication failure: %v", err)
	assert.Contains(t, err.Error(), "Leaf answered 404 at "+ts.URL+"/wrong/api/authenticate: check LEAF_API_URL")
}

// Short secrets are redacted where they stand as a value, not inside every word that contains
// them; long ones wherever they appear.
func TestShortSecretsAreRedactedAsValuesOnly(t *testing.T) {
	for _, c := range []struct{ text, secret, want string }{
		{"no route /sandbox/api/x", "sandbox", "no route /sandbox/api/x"},
		{"the sandboxes are full", "sandbox", "the sandboxes are full"},
		{`bad password "sandbox"`, "sandbox", `bad password "[redacted]"`},
		{"password=sandbox&user=x", "sandbox", "password=[redacted]&user=x"},
		{"sandbox", "sandbox", "[redacted]"},
		{"wrong password sandbox.", "sandbox", "wrong password [redacted]."},
		{"token xXlongsecretvalue42Xx in a word", "longsecretvalue42", "token xX[redacted]Xx in a word"},
	} {
		assert.Equal(t, c.want, leaf.CleanText(c.text, []string{c.secret}), c.text)
	}
}
