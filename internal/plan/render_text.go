package plan

import (
	"bufio"
	"fmt"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// sourceColumn is where the source location column starts in text plans.
const sourceColumn = 56

var actionSymbols = map[Action]string{ActionCreate: "+", ActionUpdate: "~", ActionReplace: "±", ActionDelete: "-"}

// Line renders one change as the text plan shows it.
func (c *Change) Line() string { return string(c.appendLine(nil)) }

// appendLine appends c's line to dst: a text plan writes a million of them from one buffer.
func (c *Change) appendLine(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, actionSymbols[c.Action]...)
	dst = append(dst, ' ')
	dst = append(dst, c.Kind.String()...)
	dst = append(dst, ' ')
	dst = c.appendSubject(dst)
	switch {
	case c.Action == ActionDelete:
		dst = append(append(append(dst, " ("...), c.Reason...), ')')
	case c.Kind == KindUser && c.Action == ActionCreate:
		if len(c.Fields) > 0 && c.Fields[0].Name == "name" {
			dst = c.Fields[0].appendShown(append(dst, ' '), c.Fields[0].New)
		}
	case c.Kind == KindCredential && c.Action == ActionCreate:
		if len(c.Fields) > 0 {
			dst = append(append(append(dst, " ("...), c.Fields[0].Name...), ' ')
			dst = append(c.Fields[0].appendShown(dst, c.Fields[0].New), ')')
		}
	case c.Kind == KindConfig:
		dst = append(append(dst, ": "...), configFieldList(c.Fields)...)
	case c.Reason == ReasonForced || c.Reason == ReasonUpdateApps:
		dst = append(append(dst, ": "...), c.Reason...)
	case c.Reason == ReasonUnhealthy:
		dst = append(dst, ": status "+c.Status+" -> replace ("+fieldList(c.Fields)+")"...)
	case c.Reason == ReasonAdopt:
		dst = append(dst, ": adopt Leaf user "+c.LeafUserID+" by email; "+fieldList(c.Fields)...)
	case len(c.Fields) > 0:
		dst = append(append(dst, ": "...), fieldList(c.Fields)...)
	}
	return appendSource(dst, start, c.Source)
}

// Subject names the object: externalId, externalId/provider or provider/appName (env).
func (c *Change) Subject() string { return string(c.appendSubject(nil)) }

// appendSubject appends what Subject returns.
func (c *Change) appendSubject(dst []byte) []byte {
	switch c.Kind {
	case KindUser, KindConfig:
		return append(dst, c.ExternalID...)
	case KindCredential:
		return append(append(append(dst, c.ExternalID...), '/'), c.Provider...)
	}
	dst = append(append(append(dst, c.Provider...), '/'), c.AppName...)
	if c.Environment != "" {
		dst = append(append(append(dst, " ("...), c.Environment...), ')')
	}
	return dst
}

func fieldList(fs []FieldChange) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + f.show(f.Old) + " -> " + f.show(f.New)
	}
	return strings.Join(parts, ", ")
}

// configFieldList shows config flags: booleans and numbers as they are, strings quoted, and
// "(inherited)" for a flag the user does not set (it takes the API owner's value).
func configFieldList(fs []FieldChange) string {
	show := func(name, v string) string {
		if v == "" {
			return "(inherited)"
		}
		if f, ok := leaf.LookupConfigFlag(name); ok && f.Type != leaf.ConfigString {
			if _, err := f.Parse(v); err == nil {
				return v
			}
		}
		return manifest.Quoted(v)
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + show(f.Name, f.Old) + " -> " + show(f.Name, f.New)
	}
	return strings.Join(parts, ", ")
}

func withSource(s string, l manifest.Loc) string { return string(appendSource([]byte(s), 0, l)) }

// appendSource pads the line that starts at dst[start] to the source column and appends l.
func appendSource(dst []byte, start int, l manifest.Loc) []byte {
	if l.File == "" {
		return dst
	}
	pad := max(sourceColumn-utf8.RuneCount(dst[start:]), 2)
	for range pad {
		dst = append(dst, ' ')
	}
	return l.AppendTo(dst)
}

// SummaryLine is the last line of a text plan whose summary is s.
func (p *Plan) SummaryLine(s *Summary, rate float64) string {
	e := p.Estimate(s, rate)
	at := "unlimited rate"
	if rate > 0 {
		d := humanDuration(e.Seconds)
		if !strings.HasPrefix(d, "<") {
			d = "~" + d
		}
		at = fmt.Sprintf("%s at %s req/s", d, strconv.FormatFloat(rate, 'f', -1, 64))
	}
	return summaryLine(s.Total(), e, at)
}

// summaryLine is the last line of a text plan: the counts, who needs a person, and the
// estimate (at says how long at which rate).
func summaryLine(t Counts, e Estimate, at string) string {
	s := fmt.Sprintf("Plan: %s to create, %s to update, %s to replace, %s to delete, %s unchanged.",
		thousands(t.Create), thousands(t.Update), thousands(t.Replace), thousands(t.Delete), thousands(t.Noop))
	if t.Attention() > 0 {
		var parts []string
		for _, c := range []struct {
			n    int
			what string
		}{{t.Conflict, "conflict"}, {t.Notice, "notice"}} {
			switch {
			case c.n == 1:
				parts = append(parts, "1 "+c.what)
			case c.n > 1:
				parts = append(parts, thousands(c.n)+" "+c.what+"s")
			}
		}
		s += " Needs a person: " + strings.Join(parts, ", ") + "."
	}
	return s + fmt.Sprintf(" ~%s requests, %s.", thousands(e.Requests), at)
}

// RenderText writes the plan for people: one line per change, conflicts and notices, and the
// summary with the estimate at rate requests per second. Lines are written as they are made:
// a plan of 100,000 growers is never held as text. It returns the plan's summary.
func (p *Plan) RenderText(w io.Writer, rate float64) (*Summary, error) {
	return p.render(&textSink{p: p, rate: rate, b: bufio.NewWriterSize(w, 256<<10)})
}

// RenderTextAndSave writes the text plan to text and the saved plan to saved in one pass over
// the changes (plan --out); meta holds the saved plan's metadata (tool, time, Leaf URL, account,
// manifest digest). The saved plan lists its changes before its summary, so that nothing needs
// counting first. check runs with the summary once the pass is done, before the saved plan is
// finished: an error from it (a valve, a refusal) leaves the saved plan unfinished, and is
// returned.
func (p *Plan) RenderTextAndSave(text io.Writer, rate float64, meta *View, saved io.Writer, check func(*Summary) error) (*Summary, error) {
	ss, err := p.viewSink(saved, rate, meta, check)
	if err != nil {
		return nil, err
	}
	return p.render(&textSink{p: p, rate: rate, b: bufio.NewWriterSize(text, 256<<10)}, ss)
}

// sink receives a plan's changes as one pass computes them.
type sink interface {
	change(c *Change) error
	// end finishes the output once every change was received, with the plan's summary.
	end(s *Summary) error
}

// render runs one pass over the changes into every sink: the first sink writes as the pass
// goes, each other one on a goroutine of its own, fed the changes in batches (a saved plan's
// JSON is then written beside the text shown, not after it).
func (p *Plan) render(sinks ...sink) (*Summary, error) {
	type feed struct {
		ch   chan []*Change
		done chan error
	}
	feeds := make([]feed, len(sinks)-1)
	for i, s := range sinks[1:] {
		f := feed{ch: make(chan []*Change, 16), done: make(chan error, 1)}
		feeds[i] = f
		go func() {
			var err error
			for batch := range f.ch {
				for _, c := range batch {
					if err == nil {
						err = s.change(c)
					}
				}
			}
			f.done <- err
		}()
	}
	var batch []*Change
	send := func() {
		for _, f := range feeds {
			f.ch <- batch
		}
		batch = nil
	}
	sum, err := p.Walk(func(c *Change) error {
		if len(feeds) > 0 {
			if batch = append(batch, c); len(batch) == 256 {
				send()
			}
		}
		return sinks[0].change(c)
	})
	if len(batch) > 0 {
		send()
	}
	for _, f := range feeds {
		close(f.ch)
		if ferr := <-f.done; err == nil {
			err = ferr
		}
	}
	if err != nil {
		return nil, err
	}
	for _, s := range sinks {
		if err := s.end(sum); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// textSink writes the text plan.
type textSink struct {
	p       *Plan
	rate    float64
	b       *bufio.Writer
	started bool
	line    []byte // the buffer each change's line is made in
}

func (t *textSink) begin() {
	if t.started {
		return
	}
	t.started = true
	if sel := t.p.Options.Selection.String(); sel != "" {
		t.b.WriteString("Selection in effect (" + sel + "): nothing outside it is read, changed, pruned or counted.\n")
	}
}

func (t *textSink) change(c *Change) error {
	t.begin()
	t.line = append(c.appendLine(t.line[:0]), '\n')
	_, err := t.b.Write(t.line)
	return err
}

func (t *textSink) end(s *Summary) error {
	t.begin()
	p, b := t.p, t.b
	for _, c := range s.Conflicts {
		b.WriteString(withSource(fmt.Sprintf("! conflict %s: %d Leaf users carry this externalId (%s); skipped",
			c.ExternalID, len(c.LeafUserIDs), strings.Join(c.LeafUserIDs, ", ")), c.Source) + "\n")
	}
	for _, n := range s.Notices {
		subject := n.ExternalID
		if n.Provider != "" {
			subject += "/" + n.Provider
		}
		msg := "! " + subject + ": " + string(n.Reason)
		if n.Status != "" {
			msg += " (status " + n.Status + ", Leaf already holds the manifest's token)"
		}
		b.WriteString(withSource(msg, n.Source) + "\n")
	}
	for _, d := range p.InDoubt {
		subject := d.ExternalID
		switch {
		case d.Provider != "" && d.ExternalID != "":
			subject += "/" + d.Provider
		case d.Provider != "":
			subject = d.Provider + "/" + d.AppName
		}
		fmt.Fprintf(b, "? %s %s: in doubt since run %s (its %s request was never answered); apply settles it by lookup first\n",
			d.Kind, subject, d.RunID, d.Step)
	}
	if s.Empty() {
		b.WriteString("No changes: Leaf matches the manifest.\n")
	}
	b.WriteString(p.SummaryLine(s, t.rate) + "\n")
	return b.Flush()
}

// thousands formats n with comma separators: 1,204.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// humanDuration renders seconds as 35s, 4m, 2h10m.
func humanDuration(secs float64) string {
	d := time.Duration(secs * float64(time.Second)).Round(time.Second)
	switch {
	case secs > 0 && d < time.Second:
		return "<1s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute).Minutes()))
	}
	h := int(d.Hours())
	m := int((d - time.Duration(h)*time.Hour).Round(time.Minute).Minutes())
	return fmt.Sprintf("%dh%02dm", h, m)
}

// RenderViewText writes a saved plan for people as plan showed it: its origin, one line per
// change, conflicts, notices and the summary.
func RenderViewText(w io.Writer, v *View) error {
	b := bufio.NewWriter(w)
	if v.CreatedAt != "" {
		fmt.Fprintf(b, "Saved plan: account %s at %s, made %s by %s from manifest %s.\n",
			v.Account, v.LeafURL, v.CreatedAt, v.Tool, v.ManifestDigest)
	}
	for i := range v.Changes {
		b.WriteString(v.Changes[i].Line() + "\n")
	}
	for _, c := range v.Conflicts {
		b.WriteString(manifest.SafeText(fmt.Sprintf("! conflict %s: %d Leaf users carry this externalId (%s); skipped",
			c.ExternalID, len(c.LeafUserIDs), strings.Join(c.LeafUserIDs, ", ")), 4096) + "\n")
	}
	for _, n := range v.Notices {
		subject := n.ExternalID
		if n.Provider != "" {
			subject += "/" + n.Provider
		}
		b.WriteString(manifest.SafeText("! "+subject+": "+n.Reason, 4096) + "\n")
	}
	if len(v.Changes) == 0 {
		b.WriteString("No changes: Leaf matched the manifest.\n")
	}
	at := "as planned"
	if v.Estimate.Seconds > 0 {
		at = "~" + humanDuration(v.Estimate.Seconds) + " as planned"
	}
	b.WriteString(summaryLine(v.Summary.Counts, v.Estimate, at) + "\n")
	return b.Flush()
}
