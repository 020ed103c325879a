package lifecycle

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leaf-import/leaf-import/internal/leaf/sandbox"
)

// Status reads the events of at most MaxEvents unhealthy credentials (one request each) and
// counts the others as skipped.
func TestStatusReadsTheEventsOfAtMostMaxEvents(t *testing.T) {
	ts := sandbox.NewServer(t)
	for i := range 5 {
		ts.AddUser(&sandbox.User{ExternalID: fmt.Sprintf("g%d", i), Credentials: map[string]*sandbox.Credential{
			"JohnDeere": {Status: "INVALID", Fields: map[string]string{"clientKey": "k", "clientSecret": "s", "refreshToken": "r"}}}})
	}
	for _, max := range []int{0, 2, 10} {
		before := eventRequests(ts)
		rep, err := Status(t.Context(), StatusOptions{Options: options(t, ts, t.TempDir()), MaxEvents: max})
		require.NoError(t, err)
		read := min(max, 5)
		assert.Equal(t, read, rep.EventsRead, "max %d", max)
		assert.Equal(t, 5-read, rep.EventsSkipped, "max %d", max)
		assert.Equal(t, read, eventRequests(ts)-before, "max %d: the events requests sent", max)
	}
}

func eventRequests(ts *sandbox.TestServer) int {
	n := 0
	for route, c := range ts.Stats().Requests.ByRoute {
		if strings.Contains(route, "events") {
			n += c
		}
	}
	return n
}
