package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Options are the switches of the diff (docs/design.md, Diff rules).
type Options struct {
	// Prune deletes Leaf users carrying an externalId absent from the manifest, credentials of
	// providers absent from a grower's connections, and apps absent from the manifest.
	Prune bool
	// AdoptByEmail lets a grower without a Leaf user of its externalId adopt the one Leaf user
	// without externalId that has its email.
	AdoptByEmail bool
	// ReplaceCredentials replaces every credential the manifest names.
	ReplaceCredentials bool
	// UpdateApps re-sends every app registration the manifest names.
	UpdateApps bool
	// Fingerprints shows secrets in the plan; nil uses a random per-run key.
	Fingerprints *Fingerprinter
	// ConfigApplied is what the account's workspace recorded as the config last applied to
	// each Leaf user (user id -> leaf.Config.Digest). A grower whose config matches its
	// record is not read again.
	ConfigApplied map[string]string
	// RefreshConfig reads every managed grower's config, whatever the records say (drift).
	RefreshConfig bool
	// Selection narrows the plan to some growers, providers and kinds.
	Selection Selection

	// counting: the changes are only counted (a lazy plan's first pass), so the fingerprints
	// shown with new credentials are not computed.
	counting bool
}

// digest is a short digest of the parts of a Leaf object that a plan was computed from. It
// covers no secret: a credential's secrets change only with its id and createdTime.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// absentDigest is the base of a change whose object does not exist yet.
var absentDigest = digest("absent")

func userDigest(u *leaf.User) string {
	return digest("user", u.ID, u.Name, u.Email, u.Phone, u.Address, u.ExternalID)
}

func credentialDigest(userID string, c *leaf.Credential) string {
	parts := []string{"credential", userID, c.Provider.Name, c.ID, c.Status, c.CreatedTime}
	for _, f := range c.Provider.Identity {
		parts = append(parts, f, c.Fields.Value(f).Reveal())
	}
	return digest(parts...)
}

func appDigest(a leaf.AppKey) string {
	return digest("app", a.Provider, a.AppName, a.ClientEnvironment, a.CreatedTime)
}

// ChangeID builds the stable id of a change.
func ChangeID(k Kind, externalID, provider, appName, env string) string {
	switch k {
	case KindUser:
		return "user:" + externalID
	case KindCredential:
		return "credential:" + externalID + "/" + provider
	case KindConfig:
		return "config:" + externalID
	}
	id := "app:" + provider + "/" + appName
	if env != "" {
		id += "/" + env
	}
	return id
}

// differ computes one plan.
type differ struct {
	opts Options
	fp   *Fingerprinter
	sum  *Summary
	// cur collects the changes of the grower being diffed; emit receives them.
	cur     []*Change
	emit    func([]*Change) error
	err     error
	current *leaf.Snapshot
}

// Diff computes the plan that turns current into desired, following docs/design.md's diff rules.
// It is pure: it reads its arguments and returns a new Plan, which holds its changes (Lazy
// holds none).
func Diff(desired *manifest.Manifest, current *leaf.Snapshot, opts Options) *Plan {
	var changes []*Change
	sum, _ := diffEach(desired, current, opts, func(grp []*Change) error {
		changes = append(changes, grp...)
		return nil
	})
	return &Plan{Changes: changes, Options: opts, summary: sum}
}

// diffEach computes the plan like Diff, but hands the changes to emit as they are made, one
// app or one grower at a time, in plan order, and keeps none of them: a plan of a million
// growers need not be held to be shown. emit must not keep the slice it is given (it is
// reused). It returns the plan's summary.
func diffEach(desired *manifest.Manifest, current *leaf.Snapshot, opts Options, emit func([]*Change) error) (*Summary, error) {
	d := &differ{opts: opts, fp: opts.Fingerprints, emit: emit, current: current, sum: newSummary()}
	if d.fp == nil {
		d.fp = NewFingerprinter(nil)
	}
	desired = opts.Selection.Manifest(desired)
	for _, c := range d.apps(desired, current) {
		d.cur = append(d.cur[:0], c)
		d.flush()
	}
	d.users(desired, current)

	p := d.sum
	for range p.Conflicts {
		p.count(KindUser, ActionConflict)
	}
	for _, n := range p.Notices {
		p.count(n.Kind(), ActionNotice)
	}
	sort.Slice(p.Conflicts, func(i, j int) bool { return p.Conflicts[i].ExternalID < p.Conflicts[j].ExternalID })
	sort.Slice(p.Notices, func(i, j int) bool {
		a, b := p.Notices[i], p.Notices[j]
		return a.ExternalID < b.ExternalID || a.ExternalID == b.ExternalID && a.Provider < b.Provider
	})
	return p, d.err
}

// flush hands the changes collected for one app or grower to emit, narrowed to the
// selection, and counts them.
func (d *differ) flush() {
	grp := d.cur
	if !d.opts.Selection.Empty() && (len(grp) == 0 || grp[0].Kind != KindApp) {
		grp = d.opts.Selection.group(grp)
	}
	for _, c := range grp {
		d.sum.count(c.Kind, c.Action)
		d.sum.refuseKept(c)
	}
	if len(grp) > 0 && d.err == nil {
		d.err = d.emit(grp)
	}
	d.cur = d.cur[:0]
}

func (d *differ) add(c *Change) { d.cur = append(d.cur, c) }

// noop counts an unchanged object of kind k (and provider, for credentials and apps) when the
// selection covers it.
func (d *differ) noop(k Kind, provider string) {
	if sel := d.opts.Selection; sel.Kind(k) && (provider == "" || sel.Provider(provider)) {
		d.sum.count(k, ActionNoop)
	}
}

// notice records a notice the selection covers.
func (d *differ) notice(n Notice) {
	if sel := d.opts.Selection; sel.Kind(n.Kind()) && (n.Provider == "" || sel.Provider(n.Provider)) {
		d.sum.Notices = append(d.sum.Notices, n)
	}
}

// appKeyOf matches apps: the environment counts only where the path has one.

func (d *differ) apps(desired *manifest.Manifest, current *leaf.Snapshot) []*Change {
	var out []*Change
	cur := map[string]leaf.AppKey{}
	for name, list := range current.AppKeys {
		p, ok := leaf.LookupProvider(name)
		if !ok || !d.opts.Selection.App(p) {
			continue
		}
		for _, a := range list {
			cur[manifest.AppKeyOf(p, a.AppName, a.ClientEnvironment)] = a
			d.sum.Managed++
		}
	}
	want := map[string]bool{}
	for _, a := range desired.Apps {
		key := manifest.AppKeyOf(a.Provider, a.AppName, a.Environment)
		want[key] = true
		c := &Change{ID: ChangeID(KindApp, "", a.Provider.Name, a.AppName, a.Environment), Kind: KindApp,
			Provider: a.Provider.Name, AppName: a.AppName, Environment: a.Environment, Source: a.Loc, App: a}
		existing, ok := cur[key]
		switch {
		case !ok:
			c.Action, c.Reason, c.Base = ActionCreate, ReasonAbsent, absentDigest
		case d.opts.UpdateApps:
			c.Action, c.Reason, c.Base = ActionUpdate, ReasonUpdateApps, appDigest(existing)
		default:
			d.noop(KindApp, a.Provider.Name)
			continue
		}
		out = append(out, c)
	}
	if d.opts.Prune {
		for key, a := range cur {
			if want[key] {
				continue
			}
			p, _ := leaf.LookupProvider(a.Provider)
			env := ""
			if p.AppKey.WithEnvironment {
				env = a.ClientEnvironment
			}
			out = append(out, &Change{ID: ChangeID(KindApp, "", p.Name, a.AppName, env), Kind: KindApp,
				Action: ActionDelete, Reason: ReasonPrune, Provider: p.Name, AppName: a.AppName, Environment: env,
				Base: appDigest(a)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (d *differ) users(desired *manifest.Manifest, current *leaf.Snapshot) {
	// byExt holds the one Leaf user of each externalId; dups holds every user of an externalId
	// that several carry. Users without externalId are never touched.
	byExt := make(map[string]*leaf.User, len(current.Users))
	dups := map[string][]*leaf.User{}
	for i := range current.Users {
		u := &current.Users[i]
		if u.ExternalID == "" || manifest.IsProbe(u.ExternalID) || !d.opts.Selection.Grower(u.ExternalID) {
			continue
		}
		d.sum.Managed += 1 + len(u.Credentials)
		if first, seen := byExt[u.ExternalID]; seen {
			if dups[u.ExternalID] == nil {
				dups[u.ExternalID] = []*leaf.User{first}
			}
			dups[u.ExternalID] = append(dups[u.ExternalID], u)
			continue
		}
		byExt[u.ExternalID] = u
	}
	// Adoption is decided in manifest order (the first grower of an email adopts), before the
	// growers are diffed in externalId order.
	var adopts map[*manifest.Grower]*leaf.User
	if d.opts.AdoptByEmail {
		byEmail := map[string][]*leaf.User{}
		for i := range current.Users {
			if u := &current.Users[i]; u.Email != "" {
				e := strings.ToLower(u.Email)
				byEmail[e] = append(byEmail[e], u)
			}
		}
		adopts = map[*manifest.Grower]*leaf.User{}
		adopted := map[string]bool{}
		for _, g := range desired.Growers {
			if dups[g.ExternalID] != nil || byExt[g.ExternalID] != nil {
				continue
			}
			if u := d.adoptable(g, byEmail, adopted); u != nil {
				adopted[u.ID] = true
				adopts[g] = u
			}
		}
	}
	growers := slices.Clone(desired.Growers)
	slices.SortFunc(growers, func(a, b *manifest.Grower) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	// With --prune, the users whose externalId the manifest lacks are deleted, in the same
	// externalId order as the growers.
	var pruned []*leaf.User
	if d.opts.Prune {
		inManifest := make(map[string]bool, len(desired.Growers))
		for _, g := range desired.Growers {
			inManifest[g.ExternalID] = true
		}
		for i := range current.Users {
			u := &current.Users[i]
			if u.ExternalID == "" || inManifest[u.ExternalID] || manifest.IsProbe(u.ExternalID) || !d.opts.Selection.Grower(u.ExternalID) {
				continue
			}
			pruned = append(pruned, u)
		}
		slices.SortStableFunc(pruned, func(a, b *leaf.User) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	}
	for gi, pi := 0, 0; gi < len(growers) || pi < len(pruned); {
		if gi < len(growers) && (pi >= len(pruned) || growers[gi].ExternalID < pruned[pi].ExternalID) {
			d.grower(growers[gi], byExt, dups, adopts)
			gi++
		} else {
			ext := pruned[pi].ExternalID
			for ; pi < len(pruned) && pruned[pi].ExternalID == ext; pi++ {
				u := pruned[pi]
				d.add(&Change{ID: ChangeID(KindUser, u.ExternalID, "", "", ""), Kind: KindUser, Action: ActionDelete, Reason: ReasonPrune,
					ExternalID: u.ExternalID, LeafUserID: u.ID, Base: userDigest(u)})
			}
		}
		d.flush()
		if d.err != nil {
			return
		}
	}
}

// grower diffs one grower of the manifest.
func (d *differ) grower(g *manifest.Grower, byExt map[string]*leaf.User, dups map[string][]*leaf.User, adopts map[*manifest.Grower]*leaf.User) {
	if us := dups[g.ExternalID]; us != nil {
		ids := make([]string, len(us))
		for i, u := range us {
			ids[i] = u.ID
		}
		sort.Strings(ids)
		d.sum.Conflicts = append(d.sum.Conflicts, Conflict{ExternalID: g.ExternalID, LeafUserIDs: ids, Reason: ReasonConflict, Source: g.Loc})
		return
	}
	if u := byExt[g.ExternalID]; u != nil {
		d.existingUser(g, u, false, d.current)
		return
	}
	if u := adopts[g]; u != nil {
		d.existingUser(g, u, true, d.current)
		return
	}
	d.newUser(g)
}

// adoptable returns the Leaf user g adopts with --adopt-by-email: the only Leaf user with g's
// email, provided it has no externalId and no other grower adopted it.
func (d *differ) adoptable(g *manifest.Grower, byEmail map[string][]*leaf.User, adopted map[string]bool) *leaf.User {
	if byEmail == nil || g.Email == "" {
		return nil
	}
	cands := byEmail[strings.ToLower(g.Email)]
	if len(cands) != 1 || cands[0].ExternalID != "" || adopted[cands[0].ID] {
		if len(cands) > 1 {
			d.notice(Notice{ExternalID: g.ExternalID, Source: g.Loc,
				Reason: Reason("not adopted: " + strconv.Itoa(len(cands)) + " Leaf users have this email")})
		}
		return nil
	}
	return cands[0]
}

// userFields lists the managed fields of g that differ from u.
func userFields(g *manifest.Grower, u *leaf.User) []FieldChange {
	var out []FieldChange
	for _, f := range []struct{ name, want, have string }{
		{"name", g.Name, u.Name}, {"email", g.Email, u.Email}, {"phone", g.Phone, u.Phone}, {"address", g.Address, u.Address},
	} {
		if f.want != "" && f.want != f.have {
			out = append(out, FieldChange{Name: f.name, Old: f.have, New: f.want})
		}
	}
	return out
}

func (d *differ) newUser(g *manifest.Grower) {
	var fields []FieldChange
	for _, f := range []struct{ name, v string }{{"name", g.Name}, {"email", g.Email}, {"phone", g.Phone}, {"address", g.Address}} {
		if f.v != "" {
			fields = append(fields, FieldChange{Name: f.name, New: f.v})
		}
	}
	d.add(&Change{ID: ChangeID(KindUser, g.ExternalID, "", "", ""), Kind: KindUser, Action: ActionCreate, Reason: ReasonAbsent,
		ExternalID: g.ExternalID, Fields: fields, Source: g.Loc, Base: absentDigest, Grower: g})
	d.newConfig(g)
	for _, c := range g.Connections {
		d.add(d.credentialChange(g, c, "", ActionCreate, ReasonAbsent, absentDigest, d.tokenFields(c)))
	}
}

// tokenFields shows the rotating token a new credential carries, as a fingerprint.
func (d *differ) tokenFields(c *manifest.Connection) []FieldChange {
	if d.opts.counting {
		return nil
	}
	for _, f := range c.Provider.Rotating {
		if v, ok := c.Fields.Get(f); ok {
			return []FieldChange{{Name: f, New: d.fp.Of(v), Secret: true}}
		}
	}
	return nil
}

func (d *differ) credentialChange(g *manifest.Grower, c *manifest.Connection, userID string, a Action, r Reason, base string, fields []FieldChange) *Change {
	return &Change{ID: ChangeID(KindCredential, g.ExternalID, c.Provider.Name, "", ""), Kind: KindCredential, Action: a, Reason: r,
		ExternalID: g.ExternalID, Provider: c.Provider.Name, LeafUserID: userID, Fields: fields, Source: c.Loc, Base: base,
		Grower: g, Connection: c}
}

func (d *differ) existingUser(g *manifest.Grower, u *leaf.User, adopt bool, current *leaf.Snapshot) {
	fields := userFields(g, u)
	reason := ReasonFieldsDiffer
	if adopt {
		reason = ReasonAdopt
		fields = append([]FieldChange{{Name: "externalId", Old: u.ExternalID, New: g.ExternalID}}, fields...)
	}
	if len(fields) > 0 {
		d.add(&Change{ID: ChangeID(KindUser, g.ExternalID, "", "", ""), Kind: KindUser, Action: ActionUpdate, Reason: reason,
			ExternalID: g.ExternalID, LeafUserID: u.ID, Fields: fields, Source: g.Loc, Base: userDigest(u), Grower: g})
	} else {
		d.noop(KindUser, "")
	}
	d.existingConfig(g, u, current)

	for _, c := range g.Connections {
		cur := u.Credential(c.Provider)
		if cur == nil {
			d.add(d.credentialChange(g, c, u.ID, ActionCreate, ReasonAbsent, absentDigest, d.tokenFields(c)))
			continue
		}
		if d.opts.ReplaceCredentials {
			ch := d.credentialChange(g, c, u.ID, ActionReplace, ReasonForced, credentialDigest(u.ID, cur), nil)
			ch.Current = cur
			d.add(ch)
			continue
		}
		if changed := d.comparedFields(c, cur); len(changed) > 0 {
			ch := d.credentialChange(g, c, u.ID, ActionReplace, ReasonFieldsDiffer, credentialDigest(u.ID, cur), changed)
			ch.Current = cur
			d.add(ch)
			continue
		}
		if !cur.Healthy() {
			if tokens := d.newTokens(c, cur); len(tokens) > 0 {
				ch := d.credentialChange(g, c, u.ID, ActionReplace, ReasonUnhealthy, credentialDigest(u.ID, cur), tokens)
				ch.Current, ch.Status = cur, cur.Status
				d.add(ch)
				continue
			}
			d.notice(Notice{ExternalID: g.ExternalID, Provider: c.Provider.Name,
				LeafUserID: u.ID, Status: cur.Status, Reason: ReasonReauthorize, Source: c.Loc})
			continue // counted as a notice, not as unchanged
		}
		d.noop(KindCredential, c.Provider.Name)
	}
	if d.opts.Prune {
		for _, cur := range u.Credentials {
			if g.Connection(cur.Provider) != nil {
				continue
			}
			ch := &Change{ID: ChangeID(KindCredential, g.ExternalID, cur.Provider.Name, "", ""), Kind: KindCredential,
				Action: ActionDelete, Reason: ReasonPrune, ExternalID: g.ExternalID, Provider: cur.Provider.Name,
				LeafUserID: u.ID, Source: g.Loc, Base: credentialDigest(u.ID, cur), Grower: g, Current: cur}
			d.add(ch)
		}
	}
}

// fieldChange shows a credential field change: identity fields in clear, secrets as
// fingerprints.
func (d *differ) fieldChange(p *leaf.Provider, field string, old, new leaf.Secret) FieldChange {
	if p.IsSecret(field) {
		return FieldChange{Name: field, Old: d.fp.Of(old), New: d.fp.Of(new), Secret: true}
	}
	return FieldChange{Name: field, Old: old.Reveal(), New: new.Reveal()}
}

// comparedFields lists the compared fields (identity and stable secrets Leaf echoes) where the
// manifest and Leaf differ. Rotating tokens are never compared; neither are fields Leaf does
// not return.
func (d *differ) comparedFields(c *manifest.Connection, cur *leaf.Credential) []FieldChange {
	p := c.Provider
	var out []FieldChange
	for _, f := range p.ComparedFields() {
		want, ok := c.Fields.Get(f)
		if !ok && f == leaf.FieldClientEnvironment && p.DefaultEnvironment() != "" {
			want, ok = leaf.Secret(p.DefaultEnvironment()), true
		}
		have, returned := cur.Fields.Get(f)
		if !ok || !returned || want == have || want.IsKept() {
			continue
		}
		out = append(out, d.fieldChange(p, f, have, want))
	}
	return out
}

// ReauthorizeHelps is the plan's re-authorization rule: re-posting the manifest's connection
// can repair an unhealthy credential only when the manifest carries a rotating token that Leaf
// does not hold already (re-posting a token that already failed cannot help).
func ReauthorizeHelps(c *manifest.Connection, cur *leaf.Credential) bool {
	return len(differingTokens(c, cur)) > 0
}

// newTokens lists the rotating tokens the manifest carries that differ from what Leaf holds,
// as fingerprinted field changes.
func (d *differ) newTokens(c *manifest.Connection, cur *leaf.Credential) []FieldChange {
	var out []FieldChange
	for _, f := range differingTokens(c, cur) {
		out = append(out, FieldChange{Name: f, Old: d.fp.Of(cur.Fields.Value(f)), New: d.fp.Of(c.Fields.Value(f)), Secret: true})
	}
	return out
}

// differingTokens names the rotating tokens the manifest carries that Leaf does not hold.
func differingTokens(c *manifest.Connection, cur *leaf.Credential) []string {
	var out []string
	for _, f := range c.Provider.Rotating {
		want, ok := c.Fields.Get(f)
		if !ok || want.IsKept() {
			continue
		}
		if have, returned := cur.Fields.Get(f); returned && have == want {
			continue
		}
		out = append(out, f)
	}
	return out
}

// refuseKept refuses a change that would have to send a field the manifest keeps (${keep}):
// creating or replacing a credential sends every field, and so does creating or re-sending an
// app registration.
func (s *Summary) refuseKept(c *Change) {
	var fs leaf.Fields
	switch {
	case c.Kind == KindCredential && (c.Action == ActionCreate || c.Action == ActionReplace) && c.Connection != nil:
		fs = c.Connection.Fields
	case c.Kind == KindApp && (c.Action == ActionCreate || c.Action == ActionUpdate) && c.App != nil:
		fs = c.App.Fields
	}
	f := fs.KeptField()
	if f == "" {
		return
	}
	why := map[Action]string{ActionCreate: "creates", ActionReplace: "replaces", ActionUpdate: "re-sends"}[c.Action]
	s.Refused = append(s.Refused, manifest.Problem{File: c.Source.File, Line: c.Source.Line, Field: c.Subject() + "." + f,
		Message: manifest.SafeText(fmt.Sprintf("%s is %s (keep what Leaf holds), but this change %s the %s (%s) and must send it: "+
			"supply the value (${ENV_VAR} or ${file:PATH})", f, manifest.KeepMarker, why, c.Kind, c.Reason), 512)})
}
