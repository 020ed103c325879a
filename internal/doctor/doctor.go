package doctor

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// Check is one row of doctor's report: what leaf-import assumed of Leaf, what it observed on
// this account, and what follows.
type Check struct {
	Name        string `json:"name"`
	Assumed     string `json:"assumed"`
	Observed    any    `json:"observed"`
	OK          bool   `json:"ok"`
	Consequence string `json:"consequence"`
}

// Report is what doctor found.
type Report struct {
	Account string  `json:"account"`
	URL     string  `json:"url"`
	Checks  []Check `json:"checks"`
	// FactsSaved is set when the observations were saved for the account's later runs.
	FactsSaved bool `json:"factsSaved"`
}

// Failed counts the checks whose assumption does not hold.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

func (r *Report) add(c Check) { r.Checks = append(r.Checks, c) }

// Options configure Run.
type Options struct {
	lifecycle.Options
	// NoWrite skips the probe grower: doctor then sends no mutating request.
	NoWrite bool
	// Wait bounds how long the probe is awaited in each view; Poll is the interval.
	Wait, Poll  time.Duration
	Concurrency int
}

// Run checks the account and leaf-import's assumptions about it (docs/leaf-api.md §9): reads,
// and unless NoWrite a probe grower that is created, measured and deleted (also when a check
// fails or the run is interrupted; a probe a crash left is deleted by the next run). It never
// attaches a credential to the probe. What it measures is saved in the account's workspace.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Wait <= 0 {
		o.Wait = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	c := o.Client
	rep := &Report{Account: o.Account.Owner, URL: c.BaseURL()}
	rep.add(tlsCheck(c.BaseURL()))

	// A doctor that writes runs in the run shell: the lock, what earlier runs left in doubt
	// settled (a probe a killed doctor created among them), its probe journaled in its run.
	var sh *lifecycle.Shell
	if o.NoWrite {
		if err := lifecycle.OpenReader(o.Options); err != nil {
			return nil, err
		}
		if err := c.Authenticate(ctx); err != nil {
			return nil, err
		}
	} else {
		var err error
		if sh, err = lifecycle.EnterShell(ctx, &o.Options, 0, o.Concurrency); err != nil {
			return nil, err
		}
		defer sh.Leave()
		if err := sh.Begin("doctor", ""); err != nil {
			return nil, err
		}
		defer func() { _, _ = sh.End(nil, false, 0) }()
	}
	owner := o.Account.Owner
	if owner == "" {
		owner = "unknown (set --account)"
	}
	rep.add(Check{Name: "authentication", Assumed: "the environment's login or token authenticates", Observed: "API owner " + owner,
		OK: true, Consequence: "runs of this owner share one workspace, lock and history"})

	before := time.Now()
	users, hdr, err := c.UsersPage(ctx, leaf.UserFilter{}, 0, leaf.UsersPageSize, "")
	if err != nil {
		return nil, fmt.Errorf("reading the first page of users: %w", err)
	}
	latency := time.Since(before)
	checkHeaders(rep, hdr, before.Add(latency/2), len(users))
	if o.Manifest != nil {
		checkApps(ctx, c, o.Manifest, rep)
	}

	var lag float64 = -1
	patch := true
	if !o.NoWrite {
		var lat time.Duration
		lag, patch, lat = (&prober{o: o, sh: sh, rep: rep}).run(ctx)
		if lat > 0 {
			latency = lat
		}
	}
	if o.Manifest != nil {
		estimate(ctx, o, rep, latency)
	}
	if !o.NoWrite && lag >= 0 {
		if err := sh.Workspace().SaveFacts(workspace.Facts{MeasuredAt: time.Now().UTC(), ListLagSeconds: lag, Patch: patch}); err != nil {
			return nil, err
		}
		rep.FactsSaved = true
	}
	return rep, nil
}

// tlsCheck says whether Leaf is reached over https.
func tlsCheck(url string) Check {
	tls := Check{Name: "tls", Assumed: "Leaf is reached over https", OK: true}
	if strings.HasPrefix(url, "https://") {
		tls.Observed, tls.Consequence = "https", "credentials and tokens travel encrypted"
	} else {
		tls.Observed, tls.Consequence = "plain http to a loopback host", "a local sandbox: fine for trying, never for a real account"
	}
	return tls
}

// checkApps lists the owner's apps of each provider the manifest has apps of.
func checkApps(ctx context.Context, c *leaf.Client, m *manifest.Manifest, rep *Report) {
	for _, p := range lifecycle.AppProviders(m) {
		apps, err := c.ListAppKeys(ctx, p)
		ch := Check{Name: "app-keys-" + strings.ToLower(p.Name), Assumed: "GET /app-keys/" + p.AppKey.Segment + " lists the owner's apps", OK: err == nil}
		if err != nil {
			ch.Observed, ch.Consequence = leaf.ErrorCode(err), "the plan cannot read these apps: apply fails before it changes anything"
		} else {
			ch.Observed, ch.Consequence = fmt.Sprintf("%d app(s)", len(apps)), "apps are compared by name and environment"
		}
		rep.add(ch)
	}
}

// checkHeaders reads the first page's headers: the clock, paging and rate-limit headers, the
// page size Leaf honours.
func checkHeaders(rep *Report, hdr http.Header, local time.Time, got int) {
	skew := Check{Name: "clock-skew", Assumed: "this machine's clock is within 30 s of Leaf's"}
	if t, err := http.ParseTime(hdr.Get("Date")); err == nil {
		d := t.Sub(local).Seconds()
		skew.Observed, skew.OK = math.Round(d*10)/10, math.Abs(d) <= 30
		skew.Consequence = "token lifetimes and Retry-After dates are read on this clock"
		if !skew.OK {
			skew.Consequence = "fix the clock (NTP): Retry-After dates and token lifetimes are misread"
		}
	} else {
		skew.Observed, skew.OK, skew.Consequence = "no Date header", true, "nothing to compare; the tool uses relative waits"
	}
	rep.add(skew)
	count := -1
	if v := hdr.Get("X-Total-Count"); v != "" {
		_, _ = fmt.Sscan(v, &count)
	}
	paging := Check{Name: "paging-headers", Assumed: "GET /users answers X-Total-Count (a Link header may be absent)",
		Observed: map[string]bool{"X-Total-Count": hdr.Get("X-Total-Count") != "", "Link": hdr.Get("Link") != ""}}
	paging.OK = hdr.Get("X-Total-Count") != ""
	paging.Consequence = "a read that sees the count change starts over, so no user is missed"
	if !paging.OK {
		paging.Consequence = "the tool pages by count alone: a user created during a read can be missed; plan twice before a prune"
	}
	rep.add(paging)
	size := Check{Name: "page-size", Assumed: fmt.Sprintf("Leaf honours size=%d", leaf.UsersPageSize), OK: true}
	switch {
	case count > leaf.UsersPageSize:
		size.Observed, size.OK = got, got == leaf.UsersPageSize
		size.Consequence = fmt.Sprintf("a state read costs ceil(users/%d) requests", leaf.UsersPageSize)
		if !size.OK {
			size.Consequence = "pages are smaller than asked: reads cost more requests than the estimate says"
		}
	default:
		size.Observed, size.Consequence = fmt.Sprintf("%d user(s): one page, not measurable", max(count, got)), "nothing follows"
	}
	rep.add(size)
	var seen []string
	for k := range hdr {
		if l := strings.ToLower(k); strings.Contains(l, "ratelimit") || strings.Contains(l, "rate-limit") || l == "retry-after" {
			seen = append(seen, k)
		}
	}
	rl := Check{Name: "rate-limit-headers", Assumed: "Leaf sends no rate-limit headers; 429 answers carry Leaf's body", OK: true,
		Observed: seen, Consequence: "the tool paces itself at --rate and slows down on 429"}
	if seen == nil {
		rl.Observed = []string{}
	}
	rep.add(rl)
}

// estimate plans the manifest and estimates the apply at the rate this account allows: --rate,
// or what the measured latency allows the workers when that is lower.
func estimate(ctx context.Context, o Options, rep *Report, latency time.Duration) {
	snap, err := o.Client.Snapshot(ctx, lifecycle.AppProviders(o.Manifest))
	if err != nil {
		rep.add(Check{Name: "estimate", Assumed: "the state can be read", Observed: leaf.ErrorCode(err)})
		return
	}
	p := plan.Lazy(o.Manifest, snap, plan.Options{Prune: o.Diff.Prune})
	p.Reads = leaf.ReadRequests(len(snap.Users), len(lifecycle.AppProviders(o.Manifest)))
	sum, err := p.Summarize() // counted, not held
	if err != nil {
		rep.add(Check{Name: "estimate", Assumed: "the manifest can be planned", Observed: err.Error()})
		return
	}
	rate := o.Rate
	if latency > 0 {
		if byLatency := float64(max(o.Concurrency, 1)) / latency.Seconds(); rate <= 0 || byLatency < rate {
			rate = byLatency
		}
	}
	e := p.Estimate(sum, rate)
	rep.add(Check{Name: "estimate", Assumed: "the plan's estimate at --rate", OK: true,
		Observed: fmt.Sprintf("%d requests, ~%s at %.1f req/s (latency %s)", e.Requests,
			(time.Duration(e.Seconds) * time.Second).String(), rate, latency.Round(time.Millisecond)),
		Consequence: "the time an apply of this manifest takes when nothing fails"})
}
