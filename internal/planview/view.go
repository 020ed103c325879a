package planview

import (
	"encoding/json"
	"fmt"
	"github.com/leaf-import/leaf-import/internal/plan"
	"io"
	"sort"
	"unicode/utf8"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/jsonstream"
	"github.com/leaf-import/leaf-import/internal/leaf"
)

// FormatVersion is the version of the JSON plan (--format json) and of the saved plan.
const FormatVersion = 1

// View is the JSON form of a plan: what `plan --format json` prints and, with the metadata
// filled in, what `plan --out` saves. It holds no secret: changed secrets appear as keyed
// fingerprints only.
type View struct {
	FormatVersion int `json:"formatVersion"`
	// Metadata of a saved plan.
	Tool           string       `json:"tool,omitempty"`
	CreatedAt      string       `json:"createdAt,omitempty"`
	LeafURL        string       `json:"leafUrl,omitempty"`
	Account        string       `json:"account,omitempty"`
	ManifestDigest string       `json:"manifestDigest,omitempty"`
	Options        *OptionsView `json:"options,omitempty"`

	// The changes come before the summary: a plan is written in one pass over its changes,
	// which counts them.
	Changes   []ChangeView   `json:"changes"`
	Summary   SummaryView    `json:"summary"`
	Conflicts []ConflictView `json:"conflicts"`
	Notices   []NoticeView   `json:"notices"`
	// InDoubt lists earlier runs' requests whose outcome is unknown (apply settles them first).
	InDoubt  []plan.Doubt  `json:"inDoubt,omitempty"`
	Estimate plan.Estimate `json:"estimate"`
}

// OptionsView records the diff options a saved plan was computed with.
type OptionsView struct {
	Prune              bool `json:"prune"`
	AdoptByEmail       bool `json:"adoptByEmail"`
	ReplaceCredentials bool `json:"replaceCredentials"`
	UpdateApps         bool `json:"updateApps"`
	// Selection is the --only/--provider/--kind selection (absent: everything).
	Selection *plan.SelectionView `json:"selection,omitempty"`
}

// SummaryView counts changes per action, overall and per kind.
type SummaryView struct {
	plan.Counts
	ByKind map[string]plan.Counts `json:"byKind"`
}

// ChangeView is one change.
type ChangeView struct {
	ID           string             `json:"id"`
	Kind         plan.Kind          `json:"kind"`
	Action       plan.Action        `json:"action"`
	ExternalID   string             `json:"externalId,omitempty"`
	Provider     string             `json:"provider,omitempty"`
	AppName      string             `json:"appName,omitempty"`
	Environment  string             `json:"environment,omitempty"`
	Reason       string             `json:"reason"`
	Fields       []string           `json:"fields"`
	FieldChanges []plan.FieldChange `json:"fieldChanges,omitempty"`
	Status       string             `json:"status,omitempty"`
	LeafUserID   string             `json:"leafUserId,omitempty"`
	Source       string             `json:"source,omitempty"`
	// Base is the digest of the Leaf object the change was computed from.
	Base string `json:"base"`
}

// ConflictView is a skipped grower.
type ConflictView struct {
	ExternalID  string   `json:"externalId"`
	LeafUserIDs []string `json:"leafUserIds"`
	Reason      string   `json:"reason"`
	Source      string   `json:"source,omitempty"`
}

// NoticeView is something a person should know.
type NoticeView struct {
	ExternalID string `json:"externalId"`
	Provider   string `json:"provider,omitempty"`
	Status     string `json:"status,omitempty"`
	Reason     string `json:"reason"`
	Source     string `json:"source,omitempty"`
}

// ViewOf returns the JSON form of the plan, whose summary is s, without its changes, with its
// estimate at rate requests per second. RenderJSON writes it with the changes.
func ViewOf(p *plan.Plan, s *plan.Summary, rate float64) *View {
	t := s.Total()
	v := &View{
		FormatVersion: FormatVersion,
		Summary:       SummaryView{Counts: t, ByKind: map[string]plan.Counts{}},
		Changes:       []ChangeView{}, Conflicts: []ConflictView{}, Notices: []NoticeView{},
		Estimate: p.Estimate(s, rate), InDoubt: p.InDoubt, Options: optionsView(p),
	}
	for _, k := range change.Kinds {
		if c := s.ByKind[k]; c != nil {
			v.Summary.ByKind[k.String()] = *c
		} else {
			v.Summary.ByKind[k.String()] = plan.Counts{}
		}
	}
	for _, c := range s.Conflicts {
		v.Conflicts = append(v.Conflicts, ConflictView{ExternalID: c.ExternalID, LeafUserIDs: c.LeafUserIDs,
			Reason: string(c.Reason), Source: c.Source.String()})
	}
	for _, n := range s.Notices {
		v.Notices = append(v.Notices, NoticeView{ExternalID: n.ExternalID, Provider: n.Provider, Status: n.Status,
			Reason: string(n.Reason), Source: n.Source.String()})
	}
	return v
}

// optionsView records the plan's diff options.
func optionsView(p *plan.Plan) *OptionsView {
	return &OptionsView{Prune: p.Options.Prune, AdoptByEmail: p.Options.AdoptByEmail,
		ReplaceCredentials: p.Options.ReplaceCredentials, UpdateApps: p.Options.UpdateApps,
		Selection: p.Options.Selection.View()}
}

// changeViewIn is the JSON form of one change, its field names appended to names (a sink
// reuses them).
func changeViewIn(c *plan.Change, names []string) ChangeView {
	cv := ChangeView{ID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: c.ExternalID,
		Provider: c.Provider, AppName: c.AppName, Environment: c.Environment, Reason: string(c.Reason),
		Fields: names, FieldChanges: c.Fields, Status: c.Status, LeafUserID: c.LeafUserID,
		Source: c.Source.String(), Base: c.Base}
	for _, f := range c.Fields {
		cv.Fields = append(cv.Fields, f.Name)
	}
	return cv
}

// RenderJSON writes the plan as JSON (a View) in one pass over its changes: a plan of 100,000
// growers is never held, nor encoded whole in memory. The summary, conflicts, notices and
// estimate follow the changes, once the pass has counted them. It returns the plan's summary.
func RenderJSON(p *plan.Plan, w io.Writer, rate float64) (*plan.Summary, error) {
	s, err := newViewSink(p, w, rate, nil, nil)
	if err != nil {
		return nil, err
	}
	return render(p, s)
}

// RenderJSONAndSave writes the JSON plan to shown and the saved plan to saved in one pass, like
// RenderTextAndSave.
func RenderJSONAndSave(p *plan.Plan, shown io.Writer, rate float64, meta *View, saved io.Writer, check func(*plan.Summary) error) (*plan.Summary, error) {
	js, err := newViewSink(p, shown, rate, nil, nil)
	if err != nil {
		return nil, err
	}
	ss, err := newViewSink(p, saved, rate, meta, check)
	if err != nil {
		return nil, err
	}
	return render(p, js, ss)
}

// jsonSink writes a view: its head, then each change, then its tail (see viewSink).
type jsonSink struct {
	arr          *jsonstream.Array
	compact, ind []byte
	names        []string // a change's field names, made anew for each
	// oneLine writes each change as one line of compact JSON (a saved plan, which tools read:
	// a third smaller, and quicker to write, than indented).
	oneLine bool
}

// newJSONSink writes what comes before the changes of head (whose changes are empty) to w, and
// keeps what comes after them for the end.
func newJSONSink(w io.Writer, head *View) (*jsonSink, error) {
	arr, err := jsonstream.Open(w, head, "changes", "[]")
	if err != nil {
		return nil, err
	}
	return &jsonSink{arr: arr}, nil
}

func (s *jsonSink) change(c *plan.Change) error {
	if s.names == nil {
		s.names = make([]string, 0, 8) // never nil: "fields" is [] when a change has none
	}
	cv := changeViewIn(c, s.names[:0])
	s.names = cv.Fields[:0]
	return s.write(&cv)
}

func (s *jsonSink) write(cv *ChangeView) error {
	s.compact = appendChangeJSON(s.compact[:0], cv)
	if s.oneLine {
		return s.arr.Add(s.compact)
	}
	s.ind = appendIndented(s.ind[:0], s.compact, "    ")
	return s.arr.Add(s.ind)
}

func (s *jsonSink) end(*plan.Summary) error { return s.arr.Close() }

// viewSink writes a plan as a View as one pass goes over its changes: what comes before the
// changes is written first, what comes after them (the summary and the rest) once the pass has
// counted them. With meta, it is a saved plan (read back by ReadSaved): the metadata is filled
// in and each change is one line of compact JSON; without, the plan shown, indented throughout.
type viewSink struct {
	*jsonSink
	p     *plan.Plan
	rate  float64
	meta  *View
	check func(*plan.Summary) error
}

func newViewSink(p *plan.Plan, w io.Writer, rate float64, meta *View, check func(*plan.Summary) error) (*viewSink, error) {
	head := withMeta(&View{FormatVersion: FormatVersion, Options: optionsView(p), Changes: []ChangeView{}}, meta)
	js, err := newJSONSink(w, head)
	if err != nil {
		return nil, err
	}
	js.oneLine = meta != nil // a saved plan
	return &viewSink{jsonSink: js, p: p, rate: rate, meta: meta, check: check}, nil
}

// withMeta copies a saved plan's metadata from meta (nil for a plan shown) into v, and returns v.
func withMeta(v, meta *View) *View {
	if meta == nil {
		return v
	}
	v.Tool, v.CreatedAt, v.LeafURL, v.Account, v.ManifestDigest = meta.Tool, meta.CreatedAt, meta.LeafURL, meta.Account, meta.ManifestDigest
	return v
}

// end writes the summary and the rest once the pass is done.
func (s *viewSink) end(sum *plan.Summary) error {
	if s.check != nil {
		if err := s.check(sum); err != nil {
			return err
		}
	}
	_, tail, err := jsonstream.Split(withMeta(ViewOf(s.p, sum, s.rate), s.meta), "changes", "[]")
	if err != nil {
		return err
	}
	s.arr.Tail(tail)
	return s.jsonSink.end(sum)
}

// ReadSaved decodes a saved plan change by change. Of each change it keeps what apply compares
// and reports (id, kind, action, subject, reason, Leaf user, source, base), not the names and
// values of its fields: a saved plan of 100,000 growers is read in a fraction of its size.
func ReadSaved(r io.Reader) (*View, error) { return readSaved(r, false) }

// ReadSavedWhole is ReadSaved keeping every change's fields, to show the plan again.
func ReadSavedWhole(r io.Reader) (*View, error) { return readSaved(r, true) }

func readSaved(r io.Reader, whole bool) (*View, error) {
	v, err := readView(json.NewDecoder(r), whole)
	if err != nil {
		return nil, fmt.Errorf("not a saved plan: %w", err)
	}
	if v.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("saved plan format version %d is not supported (this leaf-import reads %d)", v.FormatVersion, FormatVersion)
	}
	if v.LeafURL == "" || v.ManifestDigest == "" || v.Options == nil {
		return nil, fmt.Errorf("not a saved plan: it lacks the Leaf URL, manifest digest or options (was it written by plan --out?)")
	}
	return v, nil
}

// readView decodes a View whose changes are decoded one at a time, without their fields unless
// whole is set.
func readView(dec *json.Decoder, whole bool) (*View, error) {
	if t, err := dec.Token(); err != nil {
		return nil, err
	} else if t != json.Delim('{') {
		return nil, fmt.Errorf("a JSON object is expected")
	}
	rest := map[string]json.RawMessage{}
	var changes []ChangeView
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if key != "changes" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, err
			}
			rest[key] = raw
			continue
		}
		if t, err = dec.Token(); err != nil {
			return nil, err
		}
		if t == nil { // "changes": null
			continue
		}
		if t != json.Delim('[') {
			return nil, fmt.Errorf("changes: a JSON array is expected")
		}
		changes = []ChangeView{}
		for dec.More() {
			var cv ChangeView
			if err := dec.Decode(&cv); err != nil {
				return nil, fmt.Errorf("change %d: %w", len(changes)+1, err)
			}
			if !whole {
				cv.Fields, cv.FieldChanges = nil, nil
			}
			changes = append(changes, cv)
		}
		if _, err := dec.Token(); err != nil { // the closing bracket
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	b, err := json.Marshal(rest) // the members other than the changes: a few hundred bytes
	if err != nil {
		return nil, err
	}
	var v View
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	v.Changes = changes
	return &v, nil
}

// DiffOptions returns the diff options a saved plan was computed with, its selection included.
func (v *View) DiffOptions() (plan.Options, error) {
	sel, err := plan.SelectionFromView(v.Options.Selection)
	if err != nil {
		return plan.Options{}, fmt.Errorf("the saved plan's selection: %w", err)
	}
	return plan.Options{Prune: v.Options.Prune, AdoptByEmail: v.Options.AdoptByEmail,
		ReplaceCredentials: v.Options.ReplaceCredentials, UpdateApps: v.Options.UpdateApps, Selection: sel}, nil
}

// CheckTarget refuses a saved plan made against another Leaf URL or API-owner account, or from
// another manifest.
func (v *View) CheckTarget(leafURL, account, manifestDigest string) error {
	switch {
	case leaf.CanonicalURL(v.LeafURL) != leaf.CanonicalURL(leafURL):
		return fmt.Errorf("the plan was made against %s, not %s", v.LeafURL, leafURL)
	case v.Account != "" && account != "" && v.Account != account:
		return fmt.Errorf("the plan was made for API owner %q, not %q", v.Account, account)
	case v.ManifestDigest != manifestDigest:
		return fmt.Errorf("the manifest changed since the plan was made (digest %s, now %s)", v.ManifestDigest, manifestDigest)
	}
	return nil
}

// StaleChange is a saved change that no longer applies as reviewed.
type StaleChange struct {
	Saved ChangeView
	Why   string
}

// Staleness splits a saved plan against a fresh plan of the same manifest and options: the
// changes to apply (the fresh ones, with their payload: Keep tells them), the stale ones, and
// fresh changes the saved plan did not contain (never applied).
type Staleness struct {
	Stale []StaleChange
	// Extra lists the ids of fresh changes that the saved plan does not contain.
	Extra []string
	// Applied is the number of changes to apply.
	Applied int
	// keep holds the ids of the saved changes that apply as reviewed.
	keep map[string]bool
}

// Keep reports whether the fresh change c is applied: the saved plan has it, unchanged.
func (s *Staleness) Keep(c *plan.Change) bool { return s.keep[c.ID] }

// CompareSaved compares the saved plan with a fresh one in one pass over the fresh plan's
// changes (a lazy plan computes them for it, and none is held).
func (v *View) CompareSaved(fresh *plan.Plan) *Staleness {
	index := make(map[string]int, len(v.Changes))
	for i, sc := range v.Changes {
		index[sc.ID] = i
	}
	seen := make([]bool, len(v.Changes))
	s := &Staleness{keep: map[string]bool{}}
	for fc := range fresh.All() {
		i, ok := index[fc.ID]
		if !ok {
			s.Extra = append(s.Extra, fc.ID)
			continue
		}
		seen[i] = true
		sc := v.Changes[i]
		switch {
		case fc.Action != sc.Action:
			s.Stale = append(s.Stale, StaleChange{Saved: sc, Why: fmt.Sprintf("Leaf changed: it is now a %s", fc.Action)})
		case fc.Base != sc.Base:
			s.Stale = append(s.Stale, StaleChange{Saved: sc, Why: "the Leaf object changed since the plan was made"})
		default:
			s.keep[sc.ID] = true // the saved plan's string: the fresh change is garbage once compared
			s.Applied++
		}
	}
	for i, sc := range v.Changes {
		if !seen[i] {
			s.Stale = append(s.Stale, StaleChange{Saved: sc, Why: "Leaf changed: the change is no longer needed"})
		}
	}
	sort.SliceStable(s.Stale, func(i, j int) bool { return s.Stale[i].Saved.ID < s.Stale[j].Saved.ID })
	return s
}

// appendIndented appends compact JSON src to dst indented as json.Indent would with prefix
// and a two-space indent: a newline and the indentation after each opening bracket and comma,
// ": " after each key, and empty objects and arrays kept as {} and []. It walks the bytes once
// without json's general scanner, which was most of the time of a JSON plan of 100,000 growers.
// src must be valid compact JSON (json.Marshal's output).
func appendIndented(dst, src []byte, prefix string) []byte {
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		dst = append(dst, prefix...)
		for range depth {
			dst = append(dst, ' ', ' ')
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			j := i + 1
			for ; j < len(src); j++ {
				if src[j] == '\\' {
					j++
					continue
				}
				if src[j] == '"' {
					break
				}
			}
			dst = append(dst, src[i:j+1]...)
			i = j
		case '{', '[':
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, c, src[i+1])
				i++
				continue
			}
			dst = append(dst, c)
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendChangeJSON appends cv as compact JSON, the bytes encoding/json writes for it with HTML
// escaping off (FuzzChangeJSON holds the two to the same output). It is the hot loop of a JSON
// plan of 100,000 growers, where reflection took a third of the time.
func appendChangeJSON(dst []byte, cv *ChangeView) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, cv.ID)
	dst = append(dst, `,"kind":`...)
	dst = appendJSONString(dst, string(cv.Kind))
	dst = append(dst, `,"action":`...)
	dst = appendJSONString(dst, string(cv.Action))
	for _, f := range [...]struct{ key, v string }{
		{`,"externalId":`, cv.ExternalID}, {`,"provider":`, cv.Provider}, {`,"appName":`, cv.AppName},
		{`,"environment":`, cv.Environment},
	} {
		if f.v != "" {
			dst = append(dst, f.key...)
			dst = appendJSONString(dst, f.v)
		}
	}
	dst = append(dst, `,"reason":`...)
	dst = appendJSONString(dst, cv.Reason)
	dst = append(dst, `,"fields":`...)
	if cv.Fields == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, f := range cv.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, f)
		}
		dst = append(dst, ']')
	}
	if len(cv.FieldChanges) > 0 {
		dst = append(dst, `,"fieldChanges":[`...)
		for i, f := range cv.FieldChanges {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = appendJSONString(dst, f.Name)
			if f.Old != "" {
				dst = append(dst, `,"old":`...)
				dst = appendJSONString(dst, f.Old)
			}
			if f.New != "" {
				dst = append(dst, `,"new":`...)
				dst = appendJSONString(dst, f.New)
			}
			if f.Secret {
				dst = append(dst, `,"secret":true`...)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	for _, f := range [...]struct{ key, v string }{
		{`,"status":`, cv.Status}, {`,"leafUserId":`, cv.LeafUserID}, {`,"source":`, cv.Source},
	} {
		if f.v != "" {
			dst = append(dst, f.key...)
			dst = appendJSONString(dst, f.v)
		}
	}
	dst = append(dst, `,"base":`...)
	dst = appendJSONString(dst, cv.Base)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way encoding/json does without HTML
// escaping: control characters escaped (\b \f \n \r \t or \u00XX), invalid UTF-8 as \ufffd,
// and U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
