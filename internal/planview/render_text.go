package planview

import (
	"bufio"
	"fmt"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"io"
	"strconv"
	"strings"
	"time"
)

// SummaryLine is the last line of a text plan whose summary is s.
func SummaryLine(p *plan.Plan, s *plan.Summary, rate float64) string {
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
func summaryLine(t plan.Counts, e plan.Estimate, at string) string {
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
func RenderText(p *plan.Plan, w io.Writer, rate float64) (*plan.Summary, error) {
	return render(p, &textSink{p: p, rate: rate, b: bufio.NewWriterSize(w, 256<<10)})
}

// RenderTextAndSave writes the text plan to text and the saved plan to saved in one pass over
// the changes (plan --out); meta holds the saved plan's metadata (tool, time, Leaf URL, account,
// manifest digest). The saved plan lists its changes before its summary, so that nothing needs
// counting first. check runs with the summary once the pass is done, before the saved plan is
// finished: an error from it (a valve, a refusal) leaves the saved plan unfinished, and is
// returned.
func RenderTextAndSave(p *plan.Plan, text io.Writer, rate float64, meta *View, saved io.Writer, check func(*plan.Summary) error) (*plan.Summary, error) {
	ss, err := newViewSink(p, saved, rate, meta, check)
	if err != nil {
		return nil, err
	}
	return render(p, &textSink{p: p, rate: rate, b: bufio.NewWriterSize(text, 256<<10)}, ss)
}

// sink receives a plan's changes as one pass computes them.
type sink interface {
	change(c *plan.Change) error
	// end finishes the output once every change was received, with the plan's summary.
	end(s *plan.Summary) error
}

// render runs one pass over the changes into every sink: the first sink writes as the pass
// goes, each other one on a goroutine of its own, fed the changes in batches (a saved plan's
// JSON is then written beside the text shown, not after it).
func render(p *plan.Plan, sinks ...sink) (*plan.Summary, error) {
	type feed struct {
		ch   chan []*plan.Change
		done chan error
	}
	feeds := make([]feed, len(sinks)-1)
	for i, s := range sinks[1:] {
		f := feed{ch: make(chan []*plan.Change, 16), done: make(chan error, 1)}
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
	var batch []*plan.Change
	send := func() {
		for _, f := range feeds {
			f.ch <- batch
		}
		batch = nil
	}
	sum, err := p.Walk(func(c *plan.Change) error {
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
	p       *plan.Plan
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

func (t *textSink) change(c *plan.Change) error {
	t.begin()
	t.line = append(c.AppendLine(t.line[:0]), '\n')
	_, err := t.b.Write(t.line)
	return err
}

func (t *textSink) end(s *plan.Summary) error {
	t.begin()
	p, b := t.p, t.b
	for _, c := range s.Conflicts {
		b.WriteString(plan.WithSource(fmt.Sprintf("! conflict %s: %d Leaf users carry this externalId (%s); skipped",
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
		b.WriteString(plan.WithSource(msg, n.Source) + "\n")
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
	b.WriteString(SummaryLine(p, s, t.rate) + "\n")
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
