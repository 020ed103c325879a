package planview

import (
	"fmt"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"io"
	"strconv"
	"strings"
)

// MaxMarkdown bounds a Markdown plan: a pull-request comment holds 65,536 characters.
const MaxMarkdown = 65536

// markdownReserve is kept free for the lines that close a cut plan.
const markdownReserve = 600

// change returns the change a view describes, enough of it to be shown as the text plan shows it.
func (cv *ChangeView) change() *plan.Change {
	c := &plan.Change{ID: cv.ID, Kind: cv.Kind, Action: cv.Action, Reason: plan.Reason(cv.Reason), ExternalID: cv.ExternalID,
		Provider: cv.Provider, AppName: cv.AppName, Environment: cv.Environment, LeafUserID: cv.LeafUserID,
		Fields: cv.FieldChanges, Status: cv.Status, Base: cv.Base}
	if i := strings.LastIndexByte(cv.Source, ':'); i > 0 {
		if n, err := strconv.Atoi(cv.Source[i+1:]); err == nil {
			c.Source = manifest.Loc{File: cv.Source[:i], Line: n}
		}
	}
	return c
}

// Line is the change as the text plan shows it. A view read from a file is untrusted: control
// characters in it are escaped, never handed to a terminal.
func (cv *ChangeView) Line() string { return manifest.SafeText(cv.change().Line(), 1<<20) }

// CollectView is the plan as a View holding its changes (for the views that group them:
// Markdown, and a saved plan shown again). It holds every change: a plan too large for memory
// is shown as text or JSON, which stream. It returns the plan's summary too.
func CollectView(p *plan.Plan, rate float64) (*View, *plan.Summary, error) {
	var changes []ChangeView
	sum, err := p.Walk(func(c *plan.Change) error {
		changes = append(changes, changeViewIn(c, nil))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	v := ViewOf(p, sum, rate)
	v.Changes = changes
	if v.Changes == nil {
		v.Changes = []ChangeView{}
	}
	return v, sum, nil
}

// markdownGroups are the sections of a Markdown plan, in order.
var markdownGroups = []struct {
	action plan.Action
	title  string
}{{plan.ActionCreate, "create"}, {plan.ActionUpdate, "update"}, {plan.ActionReplace, "replace"}, {plan.ActionDelete, "delete"}}

// RenderMarkdown writes v for a pull-request comment: the summary table first, then the
// changes grouped by kind and action in collapsible sections, conflicts and notices, cut to
// fit MaxMarkdown characters with a line that says how many were left out. It is longer than
// 80 lines because it writes the document top to bottom, section by section, as it reads.
func RenderMarkdown(w io.Writer, v *View) error {
	var b strings.Builder
	b.WriteString("### leaf-import plan\n\n")
	if v.Account != "" || v.LeafURL != "" {
		fmt.Fprintf(&b, "Account `%s` at %s", mdCode(v.Account), mdText(v.LeafURL))
		if v.CreatedAt != "" {
			fmt.Fprintf(&b, ", planned %s", mdText(v.CreatedAt))
		}
		b.WriteString(".\n\n")
	}
	b.WriteString("| | create | update | replace | delete | unchanged | needs a person |\n|---|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, c plan.Counts) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, thousands(c.Create), thousands(c.Update),
			thousands(c.Replace), thousands(c.Delete), thousands(c.Noop), thousands(c.Conflict+c.Notice))
	}
	row("**all**", v.Summary.Counts)
	for _, k := range []plan.Kind{plan.KindApp, plan.KindUser, plan.KindConfig, plan.KindCredential} {
		if c, ok := v.Summary.ByKind[k.String()]; ok {
			row(k.String(), c)
		}
	}
	fmt.Fprintf(&b, "\n~%s requests", thousands(v.Estimate.Requests))
	if v.Estimate.Seconds > 0 {
		fmt.Fprintf(&b, ", ~%s", humanDuration(v.Estimate.Seconds))
	}
	b.WriteString(".\n")
	if len(v.Changes) == 0 && len(v.Conflicts) == 0 && len(v.Notices) == 0 {
		b.WriteString("\nNo changes: Leaf matches the manifest.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	shown, total := 0, len(v.Changes)
	full := false
	for _, k := range []plan.Kind{plan.KindApp, plan.KindUser, plan.KindConfig, plan.KindCredential} {
		for _, g := range markdownGroups {
			var lines []string
			for i := range v.Changes {
				if cv := &v.Changes[i]; cv.Kind == k && cv.Action == g.action {
					lines = append(lines, cv.Line())
				}
			}
			if len(lines) == 0 || full {
				continue
			}
			fmt.Fprintf(&b, "\n<details><summary>%s %s: %s</summary>\n\n```diff\n", g.title, k, thousands(len(lines)))
			for _, l := range lines {
				if b.Len()+len(l)+1 > MaxMarkdown-markdownReserve {
					full = true
					break
				}
				b.WriteString(mdFenced(l) + "\n")
				shown++
			}
			b.WriteString("```\n\n</details>\n")
		}
	}
	for _, c := range v.Conflicts {
		line := fmt.Sprintf("\n> **conflict** `%s`: %d Leaf users carry this externalId; skipped", mdCode(c.ExternalID), len(c.LeafUserIDs))
		if b.Len()+len(line) > MaxMarkdown-markdownReserve {
			full = true
			break
		}
		b.WriteString(line + "\n")
	}
	for _, n := range v.Notices {
		subject := n.ExternalID
		if n.Provider != "" {
			subject += "/" + n.Provider
		}
		line := fmt.Sprintf("\n> **needs a person** `%s`: %s", mdCode(subject), mdText(n.Reason))
		if b.Len()+len(line) > MaxMarkdown-markdownReserve {
			full = true
			break
		}
		b.WriteString(line + "\n")
	}
	if shown < total {
		fmt.Fprintf(&b, "\n_%s of %s changes are not shown: a comment holds %s characters. The whole plan is in the saved plan file (`leaf-import show PLAN.json`)._\n",
			thousands(total-shown), thousands(total), thousands(MaxMarkdown))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdFenced keeps a line inside its code fence: a run of three backticks would close it.
func mdFenced(s string) string { return strings.ReplaceAll(s, "```", "`\u200b``") }

// mdCode keeps text inside an inline code span.
func mdCode(s string) string { return strings.ReplaceAll(s, "`", "'") }

// mdText escapes what Markdown or HTML would act on in text from a manifest or from Leaf.
func mdText(s string) string {
	r := strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", "|", "\\|", "*", "\\*", "_", "\\_", "[", "\\[", "]", "\\]", "`", "'", "\n", " ")
	return r.Replace(s)
}
