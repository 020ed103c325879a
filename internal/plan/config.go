package plan

import (
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
)

// ConfigReads lists the Leaf users whose own configuration a plan must read: those of growers
// with a config whose one Leaf user has no record of that config being applied (or all of them
// with RefreshConfig). Leaf serves configuration one user at a time, so a nightly run that
// changes nothing reads none. Users the plan would create need no read.
func ConfigReads(desired *manifest.Manifest, current *leaf.Snapshot, opts Options) []string {
	if !opts.Selection.Kind(KindConfig) {
		return nil
	}
	desired = opts.Selection.Manifest(desired)
	count := make(map[string]int, len(current.Users))
	for i := range current.Users {
		if ext := current.Users[i].ExternalID; ext != "" {
			count[ext]++
		}
	}
	want := make(map[string]leaf.Config)
	for _, g := range desired.Growers {
		if len(g.Config) > 0 && count[g.ExternalID] == 1 {
			want[g.ExternalID] = g.Config
		}
	}
	var out []string
	for i := range current.Users {
		u := &current.Users[i]
		cfg, ok := want[u.ExternalID]
		if !ok {
			continue
		}
		if !opts.RefreshConfig && opts.ConfigApplied[u.ID] == cfg.Digest() {
			continue
		}
		out = append(out, u.ID)
	}
	return out
}

// configDigest is the base of a config change: the managed flags Leaf holds.
func configDigest(userID string, uc leaf.UserConfig) string {
	parts := []string{"config", userID}
	if !uc.Exists {
		parts = append(parts, "absent")
	}
	for _, v := range uc.Config {
		parts = append(parts, v.Name, v.Value)
	}
	return digest(parts...)
}

// unreadDigest is the base of a config change computed without reading Leaf's.
var unreadDigest = digest("config", "unread")

func (d *differ) configChange(g *manifest.Grower, userID string, a Action, r Reason, base string, fields []FieldChange) *Change {
	return &Change{ID: ChangeID(KindConfig, g.ExternalID, "", "", ""), Kind: KindConfig, Action: a, Reason: r,
		ExternalID: g.ExternalID, LeafUserID: userID, Fields: fields, Source: g.Loc, Base: base, Grower: g}
}

// newConfig plans the config of a grower whose user the plan creates: every flag, no read.
func (d *differ) newConfig(g *manifest.Grower) {
	if len(g.Config) == 0 {
		return
	}
	fields := make([]FieldChange, len(g.Config))
	for i, v := range g.Config {
		fields[i] = FieldChange{Name: v.Name, New: v.Value}
	}
	d.add(d.configChange(g, "", ActionCreate, ReasonAbsent, absentDigest, fields))
}

// existingConfig plans the config of a grower whose Leaf user exists: compared with what Leaf
// holds when it was read, else trusted to the workspace's record of what was last applied.
func (d *differ) existingConfig(g *manifest.Grower, u *leaf.User, current *leaf.Snapshot) {
	if len(g.Config) == 0 {
		return
	}
	want := g.Config.Digest()
	uc, read := current.Configs[u.ID]
	if !read {
		if d.opts.ConfigApplied[u.ID] == want {
			d.noop(KindConfig, "")
			return
		}
		fields := make([]FieldChange, len(g.Config))
		for i, v := range g.Config {
			fields[i] = FieldChange{Name: v.Name, New: v.Value}
		}
		d.add(d.configChange(g, u.ID, ActionUpdate, ReasonConfigUnread, unreadDigest, fields))
		return
	}
	var fields []FieldChange
	for _, v := range g.Config {
		have, ok := uc.Config.Get(v.Name)
		if !ok || have != v.Value {
			fields = append(fields, FieldChange{Name: v.Name, Old: have, New: v.Value})
		}
	}
	switch {
	case !uc.Exists:
		d.add(d.configChange(g, u.ID, ActionCreate, ReasonAbsent, configDigest(u.ID, uc), fields))
	case len(fields) > 0:
		d.add(d.configChange(g, u.ID, ActionUpdate, ReasonFieldsDiffer, configDigest(u.ID, uc), fields))
	default:
		d.noop(KindConfig, "")
		if d.sum.ConfigVerified == nil {
			d.sum.ConfigVerified = map[string]string{}
		}
		d.sum.ConfigVerified[u.ID] = want
	}
}
