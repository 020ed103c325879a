package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/lifecycle"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// prober runs doctor's probe grower: it deletes the probes earlier doctors left, creates one,
// measures how it shows, and deletes it. Its create and delete are journaled in the doctor's
// run like an apply's changes, so that a doctor killed in between leaves an intent or an
// outcome the next run of the account knows the probe by, even while Leaf's lists do not show
// it yet.
type prober struct {
	o   Options
	sh  *lifecycle.Shell
	rep *Report
	// t0 is when the probe was created; reads and spent count the reads awaiting it.
	t0    time.Time
	reads int
	spent time.Duration
}

// run returns the list lag in seconds (-1 when not measured), whether PATCH works, and the mean
// latency of its reads.
func (p *prober) run(ctx context.Context) (lag float64, patch bool, latency time.Duration) {
	lag, patch = -1, true
	all, err := p.o.Client.ListUsers(ctx, leaf.UserFilter{})
	if err != nil {
		p.rep.add(Check{Name: "probe-cleanup", Assumed: "earlier probes can be listed", Observed: leaf.ErrorCode(err)})
		return
	}
	p.cleanup(ctx, all)
	pages := (len(all) + leaf.UsersPageSize) / leaf.UsersPageSize

	nonce := make([]byte, 6)
	_, _ = rand.Read(nonce)
	ext := manifest.ProbePrefix + hex.EncodeToString(nonce)
	name := "leaf-import doctor probe " + ext
	u := p.create(ctx, ext, name)
	if u == nil {
		return
	}
	defer p.remove(ctx, u)
	lag = p.measureLag(ctx, u, name, pages)
	p.checkExact(ctx, u)
	patch = p.checkPatch(ctx, u, name)
	_, err = p.o.Client.GetCredential(ctx, u.ID, leaf.Providers()[0])
	p.rep.add(Check{Name: "credential-404", Assumed: "GET of a credential a user does not have answers 404 (U8)",
		Observed: map[bool]string{true: "404", false: fmt.Sprint(leaf.ErrorCode(err))}[leaf.IsNotFound(err)], OK: leaf.IsNotFound(err),
		Consequence: "a lookup after a lost credential create tells absent from present"})
	if p.reads > 0 {
		latency = p.spent / time.Duration(p.reads)
	}
	return lag, patch, latency
}

// cleanup deletes the probes earlier doctors left: those the list shows, and those the account's
// recent runs created (or settling found) that a lagging list does not show yet.
func (p *prober) cleanup(ctx context.Context, all []leaf.User) {
	probes := map[string]string{} // Leaf id -> externalId
	for _, u := range all {
		if manifest.IsProbe(u.ExternalID) {
			probes[u.ID] = u.ExternalID
		}
	}
	for ext, id := range p.sh.Created() {
		if manifest.IsProbe(ext) {
			probes[id] = ext
		}
	}
	left := 0
	for id, ext := range probes {
		if p.delete(context.WithoutCancel(ctx), &leaf.User{ID: id, ExternalID: ext}) == nil {
			left++
		}
	}
	p.rep.add(Check{Name: "probe-cleanup", Assumed: "no probe grower is left from an earlier doctor", Observed: left, OK: true,
		Consequence: map[bool]string{true: "deleted the probes an interrupted doctor left", false: "nothing to delete"}[left > 0]})
}

func probeChange(u *leaf.User, a change.Action) *plan.Change {
	return &plan.Change{ID: "user:" + u.ExternalID, Kind: change.KindUser, Action: a, ExternalID: u.ExternalID, LeafUserID: u.ID}
}

// create creates the probe, journaled; nil when it could not (a check says why).
func (p *prober) create(ctx context.Context, ext, name string) *leaf.User {
	var u *leaf.User
	c := probeChange(&leaf.User{ExternalID: ext}, change.ActionCreate)
	p.t0 = time.Now()
	_, err := exec.Send(ctx, p.sh.Journal(), exec.Mutation{Change: c, Step: change.StepPost},
		func(ctx context.Context) (string, error) {
			var err error
			u, err = p.o.Client.CreateUser(ctx, leaf.UserFields{ExternalID: &ext, Name: &name})
			return idOf(u), err
		})
	p.sh.Record(probeRecord(c, u, err))
	if err == nil {
		return u
	}
	p.rep.add(Check{Name: "probe-create", Assumed: "POST /users creates a user", Observed: leaf.ErrorCode(err),
		Consequence: "no user can be created: apply cannot onboard growers"})
	if !leaf.IsAmbiguous(err) {
		return nil
	}
	// The answer was lost: find the probe so that it is deleted now. Its intent stays open, so
	// that the next run settles it if this lookup misses it.
	if us, lerr := p.o.Client.ListUsers(ctx, leaf.UserFilter{ExternalID: ext}); lerr == nil && len(us) > 0 {
		return &us[0]
	}
	return nil
}

// remove deletes the probe at the end, also when a check failed or the run was interrupted.
func (p *prober) remove(ctx context.Context, u *leaf.User) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := p.delete(dctx, u)
	ok := err == nil
	p.rep.add(Check{Name: "probe-deleted", Assumed: "DELETE /users/{id} removes the probe", Observed: map[bool]string{true: "deleted", false: leaf.ErrorCode(err)}[ok],
		OK: ok, Consequence: map[bool]string{true: "the account is as doctor found it", false: "the next doctor deletes the probe"}[ok]})
}

// delete deletes a probe user, journaled. A probe gone already (404) is an error here: nothing
// was deleted.
func (p *prober) delete(ctx context.Context, u *leaf.User) error {
	c := probeChange(u, change.ActionDelete)
	_, err := exec.Send(ctx, p.sh.Journal(), exec.Mutation{Change: c, Step: change.StepDelete, UserID: u.ID},
		func(ctx context.Context) (string, error) { return u.ID, p.o.Client.DeleteUser(ctx, u.ID) })
	if !leaf.IsNotFound(err) {
		p.sh.Record(probeRecord(c, u, err))
	}
	return err
}

func probeRecord(c *plan.Change, u *leaf.User, err error) report.Record {
	r := report.Record{ChangeID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: c.ExternalID, LeafUserID: idOf(u),
		Status: report.StatusSucceeded}
	if err != nil {
		r.Status, r.ErrorCode, r.Error = report.StatusFailed, leaf.ErrorCode(err), err.Error()
	}
	return r
}

func idOf(u *leaf.User) string {
	if u == nil {
		return ""
	}
	return u.ID
}

// await polls found until it holds: the seconds since the probe was created, whether it held,
// and how many reads it took (the reads wait on the --rate limiter like any other).
func (p *prober) await(ctx context.Context, found func() (bool, error)) (float64, bool, int) {
	for tries := 1; ; tries++ {
		start := time.Now()
		ok, err := found()
		p.spent += time.Since(start)
		p.reads++
		if err == nil && ok {
			return time.Since(p.t0).Seconds(), true, tries
		}
		if time.Since(p.t0) > p.o.Wait || ctx.Err() != nil {
			return time.Since(p.t0).Seconds(), false, tries
		}
		time.Sleep(p.o.Poll)
	}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// measureLag measures how soon the probe shows by id, in the externalId filter and in the paged
// list; it returns the list lag in seconds (-1 when it never showed).
func (p *prober) measureLag(ctx context.Context, u *leaf.User, name string, pages int) float64 {
	c := p.o.Client
	byID, ok, tries := p.await(ctx, func() (bool, error) { _, err := c.GetUser(ctx, u.ID); return err == nil, nil })
	p.rep.add(Check{Name: "visible-by-id", Assumed: "a new user can be read by id at once", Observed: round2(byID), OK: ok && tries == 1,
		Consequence: "users a run created are read by id while lists lag"})
	byFilter, ok, _ := p.await(ctx, func() (bool, error) {
		us, err := c.ListUsers(ctx, leaf.UserFilter{ExternalID: u.ExternalID})
		return len(us) > 0, err
	})
	p.rep.add(Check{Name: "externalid-filter-lag", Assumed: "a new user shows in GET /users?externalId= within the lookup window (5 s)",
		Observed: round2(byFilter), OK: ok && byFilter < exec.DefaultLookupWindow.Seconds(),
		Consequence: "a create whose answer is lost is looked up by externalId within the lookup window"})
	inList, ok, _ := p.await(ctx, func() (bool, error) { return listShows(ctx, c, u.ID, name, pages) })
	lag := -1.0
	if ok {
		lag = round2(inList)
	}
	p.rep.add(Check{Name: "list-lag", Assumed: "a new user shows in the paged user list within the lookup window (5 s)",
		Observed: round2(inList), OK: ok && inList < exec.DefaultLookupWindow.Seconds(),
		Consequence: fmt.Sprintf("apply's default --lookup-window on this account becomes %s (twice the lag plus 1 s)", lifecycle.LookupWindowFor(inList))})
	return lag
}

// listShows reports whether the paged user list shows user id: every page of a small account,
// or on a large one (over 20 pages) the list filtered by the probe's unique name.
func listShows(ctx context.Context, c *leaf.Client, id, name string, pages int) (bool, error) {
	if pages > 20 {
		us, _, err := c.UsersPage(ctx, leaf.UserFilter{Name: name}, 0, leaf.UsersPageSize, "")
		return len(us) > 0, err
	}
	for page := 0; page <= pages; page++ {
		us, _, err := c.UsersPage(ctx, leaf.UserFilter{}, page, leaf.UsersPageSize, "")
		if err != nil {
			return false, err
		}
		for _, x := range us {
			if x.ID == id {
				return true, nil
			}
		}
		if len(us) < leaf.UsersPageSize {
			break
		}
	}
	return false, nil
}

// checkExact checks that the externalId filter matches exactly and is case-sensitive.
func (p *prober) checkExact(ctx context.Context, u *leaf.User) {
	exact := true
	ext := u.ExternalID
	for _, q := range []string{ext[:len(ext)-1], strings.ToUpper(ext)} {
		us, err := p.o.Client.ListUsers(ctx, leaf.UserFilter{ExternalID: q})
		for _, x := range us {
			exact = exact && x.ID != u.ID
		}
		exact = exact && err == nil
	}
	p.rep.add(Check{Name: "externalid-exact", Assumed: "the externalId filter matches exactly and is case-sensitive (U5)",
		Observed: map[bool]string{true: "exact", false: "a prefix or another case matched"}[exact], OK: exact,
		Consequence: map[bool]string{true: "lookups by externalId find one grower's user",
			false: "the tool keeps only exact matches of what Leaf returns; lookups cost more reads"}[exact]})
}

// checkPatch updates the probe's name, with PATCH first; it reports whether PATCH works.
func (p *prober) checkPatch(ctx context.Context, u *leaf.User, name string) bool {
	c := p.o.Client
	patched := name + " (patched)"
	c.SetPatchUnsupported(false)
	_, err := exec.Send(ctx, p.sh.Journal(), exec.Mutation{Change: probeChange(u, change.ActionUpdate), Step: change.StepPatch, UserID: u.ID},
		func(ctx context.Context) (string, error) {
			_, err := c.UpdateUser(ctx, u.ID, leaf.UserFields{Name: &patched})
			return u.ID, err
		})
	patch := err == nil && !c.PatchUnsupported()
	pc := Check{Name: "patch", Assumed: "PATCH /users/{id} updates a user's fields (U2)", OK: patch}
	switch {
	case err != nil:
		pc.Observed, pc.Consequence = leaf.ErrorCode(err), "neither PATCH nor GET+PUT updated the probe: user updates will fail"
	case patch:
		pc.Observed, pc.Consequence = "PATCH works", "updates send one PATCH"
	default:
		pc.Observed, pc.Consequence = "PATCH refused; GET+PUT worked", "apply updates with GET and a PUT that re-sends every credential id (two requests)"
	}
	p.rep.add(pc)
	return patch
}
