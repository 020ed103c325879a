package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
)

// StatusMissing is the status of a manifest connection that Leaf lacks.
const StatusMissing = "MISSING"

// StatusEntry is one credential that needs a person: not OK in Leaf, or missing.
type StatusEntry struct {
	ExternalID string `json:"externalId" csv:"externalId"`
	LeafUserID string `json:"leafUserId" csv:"leafUserId"`
	Provider   string `json:"provider" csv:"provider"`
	Status     string `json:"status" csv:"status"`
	// LastErrorAt and LastError describe the credential's latest error event (a call Leaf made to
	// the provider that failed), when one was read: its time, and its status with the error text
	// the provider gave, never the event's raw body.
	LastErrorAt string `json:"lastErrorAt,omitempty" csv:"lastErrorAt"`
	LastError   string `json:"lastError,omitempty" csv:"lastError"`
	// ReauthorizeHelps says whether re-posting the manifest's connection could repair it (the
	// manifest carries a token Leaf does not hold): apply does that. False: the grower must
	// re-authorize (or connect). Absent without a manifest.
	ReauthorizeHelps *bool `json:"reauthorizeHelps,omitempty" csv:"reauthorizeHelps"`
}

// StatusReport is the health of an account's growers and connections.
type StatusReport struct {
	Account string `json:"account"`
	// Growers counts the Leaf users covered (with an externalId; with a manifest, the managed
	// ones).
	Growers int `json:"growers"`
	// Totals counts credentials by provider, then status.
	Totals      map[string]map[string]int `json:"totals"`
	Credentials []StatusEntry             `json:"credentials"`
	// EventsRead counts the events requests; EventsSkipped the unhealthy credentials whose events
	// were not read (beyond --max-events).
	EventsRead    int `json:"eventsRead"`
	EventsSkipped int `json:"eventsSkipped"`
	// Requests counts every request sent (authentication included).
	Requests int64 `json:"requests"`
}

// Attention counts the entries by reason: unhealthy credentials and missing connections.
func (r *StatusReport) Attention() map[string]int {
	out := map[string]int{}
	for _, e := range r.Credentials {
		if e.Status == StatusMissing {
			out["missing-connection"]++
		} else {
			out["unhealthy-credential"]++
		}
	}
	return out
}

// StatusOptions configure Status.
type StatusOptions struct {
	Options
	// MaxEvents bounds the events requests (one per unhealthy credential).
	MaxEvents int
}

// eventsRead is how many of a credential's newest events are read to find its latest error.
const eventsRead = 20

// Status reads the health of the account's growers: ceil(users/100) pages, plus one events
// request per unhealthy credential up to MaxEvents; never one request per grower. Without a
// manifest it covers every Leaf user that has an externalId; with one, the managed growers, and
// it names the manifest connections Leaf lacks. It writes nothing.
func Status(ctx context.Context, o StatusOptions) (*StatusReport, error) {
	if err := o.Client.Authenticate(ctx); err != nil {
		return nil, err
	}
	o.Log.Info("reading Leaf users", "url", o.Client.BaseURL())
	users, err := o.Client.ListUsers(ctx, leaf.UserFilter{})
	if err != nil {
		return nil, fmt.Errorf("reading Leaf users: %w", err)
	}
	rep := &StatusReport{Account: o.Account.Owner, Totals: map[string]map[string]int{}, Credentials: []StatusEntry{}}
	byExt := map[string][]*leaf.User{}
	for i := range users {
		if u := &users[i]; u.ExternalID != "" {
			byExt[u.ExternalID] = append(byExt[u.ExternalID], u)
		}
	}
	growers := map[string]*manifest.Grower{}
	if o.Manifest != nil {
		for _, g := range o.Manifest.Growers {
			growers[g.ExternalID] = g
		}
	}
	exts := make([]string, 0, len(byExt))
	for ext := range byExt {
		if o.Manifest == nil || growers[ext] != nil {
			exts = append(exts, ext)
		}
	}
	if o.Manifest != nil {
		for _, g := range o.Manifest.Growers {
			if byExt[g.ExternalID] == nil {
				exts = append(exts, g.ExternalID) // no Leaf user: every connection is missing
			}
		}
	}
	slices.Sort(exts)
	sr := &statusRun{o: &o, rep: rep}
	for _, ext := range exts {
		g, us := growers[ext], byExt[ext]
		rep.Growers += len(us)
		for _, u := range us {
			for _, cr := range u.Credentials {
				if err := sr.credential(ctx, ext, g, u, cr); err != nil {
					return nil, err
				}
			}
		}
		if g != nil {
			sr.missing(ext, g, us)
		}
	}
	rep.Requests = o.Client.Stats().Requests
	return rep, nil
}

// statusRun is a status read in progress.
type statusRun struct {
	o   *StatusOptions
	rep *StatusReport
}

func (sr *statusRun) count(p, status string) {
	if sr.rep.Totals[p] == nil {
		sr.rep.Totals[p] = map[string]int{}
	}
	sr.rep.Totals[p][status]++
}

// credential counts a Leaf credential of grower ext (g: its manifest entry, nil without one) and
// lists it when it is not healthy, with its latest error while MaxEvents allows reading it.
func (sr *statusRun) credential(ctx context.Context, ext string, g *manifest.Grower, u *leaf.User, cr *leaf.Credential) error {
	rep := sr.rep
	sr.count(cr.Provider.Name, strings.ToUpper(cr.Status))
	if cr.Healthy() {
		return nil
	}
	e := StatusEntry{ExternalID: ext, LeafUserID: u.ID, Provider: cr.Provider.Name, Status: cr.Status}
	var conn *manifest.Connection
	if g != nil {
		conn = g.Connection(cr.Provider)
	}
	if conn != nil {
		helps := plan.ReauthorizeHelps(conn, cr)
		e.ReauthorizeHelps = &helps
	}
	if rep.EventsRead < sr.o.MaxEvents {
		rep.EventsRead++
		evs, err := sr.o.Client.LatestCredentialEvents(ctx, u.ID, cr.Provider, eventsRead)
		if err != nil && !leaf.IsNotFound(err) {
			return fmt.Errorf("reading the events of %s/%s: %w", ext, cr.Provider.Name, err)
		}
		e.LastErrorAt, e.LastError = latestError(evs, conn)
	} else {
		rep.EventsSkipped++
	}
	rep.Credentials = append(rep.Credentials, e)
	return nil
}

// missing lists the manifest connections of grower g that none of its Leaf users us holds.
func (sr *statusRun) missing(ext string, g *manifest.Grower, us []*leaf.User) {
	for _, c := range g.Connections {
		held := false
		for _, u := range us {
			held = held || u.Credential(c.Provider) != nil
		}
		if held {
			continue
		}
		sr.count(c.Provider.Name, StatusMissing)
		// Apply posts a missing connection from the manifest's token: that may help; a
		// connection still missing after an apply needs the grower to connect again.
		helps := true
		e := StatusEntry{ExternalID: ext, Provider: c.Provider.Name, Status: StatusMissing, ReauthorizeHelps: &helps}
		if len(us) == 1 {
			e.LeafUserID = us[0].ID
		}
		sr.rep.Credentials = append(sr.rep.Credentials, e)
	}
}

// latestError finds the newest event whose provider call failed, and describes it without its
// raw body: the status, and the error text the provider gave when the body is a JSON error.
// The manifest's secrets for the connection, if they appear, are redacted.
func latestError(evs []leaf.Event, conn *manifest.Connection) (at, msg string) {
	for _, e := range evs {
		if e.StatusCode < 400 {
			continue
		}
		msg = fmt.Sprintf("HTTP %d", e.StatusCode)
		var body map[string]any
		if json.Unmarshal([]byte(e.Body.Reveal()), &body) == nil {
			for _, k := range []string{"error_description", "message", "error", "detail", "title"} {
				if s, ok := body[k].(string); ok && strings.TrimSpace(s) != "" {
					msg += ": " + cleanMessage(s, conn)
					break
				}
			}
		}
		return e.CreatedDate, msg
	}
	return "", ""
}

// cleanMessage keeps untrusted text printable and short, without the connection's secrets.
func cleanMessage(s string, conn *manifest.Connection) string {
	var secrets []string
	if conn != nil {
		for _, f := range conn.Fields {
			secrets = append(secrets, f.Value.Reveal())
		}
	}
	return leaf.CleanText(s, secrets)
}
