package htmlview

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/planview"
	"github.com/leaf-import/leaf-import/internal/report"
)

// chartPoints is how many points a chart has at most.
const chartPoints = 60

// groupItems is how many growers a failure group names.
const groupItems = 30

// RunPage is the page of a run: its summary, its pace and retries over time, its failures by
// cause, and a table of every change's outcome.
func RunPage(r *report.Report, status string) *Page {
	s := r.Summary
	p := &Page{Title: "leaf-import run " + r.Run.ID, RowsTitle: "Every change",
		Meta: [][2]string{{"status", status}, {"account", r.Run.Account}, {"Leaf", r.Run.LeafURL},
			{"started", r.Run.StartedAt.UTC().Format(time.RFC3339)}, {"manifest", r.Run.ManifestDigest}}}
	if !r.Run.EndedAt.IsZero() {
		p.Meta = append(p.Meta, [2]string{"ended", r.Run.EndedAt.UTC().Format(time.RFC3339)})
	}
	kinds := Table{Caption: "Changes", Head: []string{"kind", "action", "succeeded", "failed", "skipped", "pending"}}
	kinds.Rows = append(kinds.Rows, []string{"all", "", n(s.Succeeded), n(s.Failed), n(s.Skipped), n(s.Pending)})
	for _, k := range slices.Sorted(maps.Keys(s.ByKind)) {
		for _, a := range slices.Sorted(maps.Keys(s.ByKind[k])) {
			c := s.ByKind[k][a]
			kinds.Rows = append(kinds.Rows, []string{string(k), string(a), n(c.Succeeded), n(c.Failed), n(c.Skipped), n(c.Pending)})
		}
	}
	reqs := Table{Caption: "Requests", Head: []string{"what", "count"}, Rows: [][]string{
		{"requests", n64(s.Requests)}, {"lookups", n64(s.Lookups)},
		{"duration", (time.Duration(s.DurationMs) * time.Millisecond).Round(time.Second).String()},
		{"achieved rate (requests/s)", strconv.FormatFloat(s.Rate, 'f', 1, 64)}}}
	for _, cause := range slices.Sorted(maps.Keys(s.Retries)) {
		reqs.Rows = append(reqs.Rows, []string{"re-sent: " + cause, n64(s.Retries[cause])})
	}
	p.Tables = []Table{kinds, reqs}
	p.Charts = runCharts(r.Records)
	p.Groups = failureGroups(r.Records)
	p.Columns = []string{"externalId", "kind", "action", "provider", "status", "attempts", "http", "error", "source"}
	p.Rows = make([][]string, 0, len(r.Records))
	for _, rec := range r.Records {
		subject := rec.ExternalID
		if subject == "" {
			subject = rec.AppName
		}
		p.Rows = append(p.Rows, []string{subject, string(rec.Kind), string(rec.Action), rec.Provider, string(rec.Status),
			strconv.Itoa(rec.Attempts), httpStatus(rec.HTTPStatus), rec.Error, rec.Source})
	}
	return p
}

// runCharts buckets the records by when they started: changes finished, and re-sent requests
// and 429 answers, per bucket.
func runCharts(recs []report.Record) []Chart {
	var first, last time.Time
	for _, r := range recs {
		if r.StartedAt.IsZero() {
			continue
		}
		if first.IsZero() || r.StartedAt.Before(first) {
			first = r.StartedAt
		}
		if end := r.StartedAt.Add(time.Duration(r.DurationMs) * time.Millisecond); end.After(last) {
			last = end
		}
	}
	if first.IsZero() {
		return nil
	}
	span := max(last.Sub(first), time.Second)
	bucket := max((span+chartPoints-1)/chartPoints, time.Second).Round(time.Second)
	nb := int(span/bucket) + 1
	done, retried, limited := make([]float64, nb), make([]float64, nb), make([]float64, nb)
	for _, r := range recs {
		if r.StartedAt.IsZero() {
			continue
		}
		i := min(int(r.StartedAt.Sub(first)/bucket), nb-1)
		done[i]++
		if r.Attempts > 1 {
			retried[i] += float64(r.Attempts - 1)
		}
		if r.HTTPStatus == 429 {
			limited[i]++
		}
	}
	per := "each point: " + bucket.String()
	return []Chart{
		{Title: "Pace: changes per " + bucket.String(), Bucket: per, Series: []Series{{Name: "changes", Color: "#1565c0", Points: done}}},
		{Title: "Retries and 429s per " + bucket.String(), Bucket: per, Series: []Series{
			{Name: "re-sent attempts", Color: "#ef6c00", Points: retried}, {Name: "429 answers", Color: "#c62828", Points: limited}}},
	}
}

// failureGroups groups the failed and pending records by cause, the largest first.
func failureGroups(recs []report.Record) []Group {
	byCause := map[string]*Group{}
	for _, r := range recs {
		if r.Status != report.StatusFailed && r.Status != report.StatusPending {
			continue
		}
		cause := string(r.Status) + ": " + cmp.Or(r.ErrorCode, "unknown")
		if r.HTTPStatus != 0 {
			cause += " (HTTP " + strconv.Itoa(r.HTTPStatus) + ")"
		}
		g := byCause[cause]
		if g == nil {
			g = &Group{Title: cause}
			byCause[cause] = g
		}
		g.Count++
		if len(g.Items) < groupItems {
			g.Items = append(g.Items, cmp.Or(r.ExternalID, r.AppName, r.ChangeID))
		}
	}
	out := make([]Group, 0, len(byCause))
	for _, g := range byCause {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int { return cmp.Or(b.Count-a.Count, cmp.Compare(a.Title, b.Title)) })
	return out
}

// PlanPage is the page of a saved plan: its summary and a table of its changes.
func PlanPage(v *planview.View) *Page {
	p := &Page{Title: "leaf-import plan", RowsTitle: "Every change",
		Meta: [][2]string{{"account", v.Account}, {"Leaf", v.LeafURL}, {"planned", v.CreatedAt}, {"manifest", v.ManifestDigest}}}
	t := Table{Caption: "Changes", Head: []string{"kind", "create", "update", "replace", "delete", "unchanged", "needs a person"}}
	row := func(name string, c plan.Counts) {
		t.Rows = append(t.Rows, []string{name, n(c.Create), n(c.Update), n(c.Replace), n(c.Delete), n(c.Noop), n(c.Conflict + c.Notice)})
	}
	row("all", v.Summary.Counts)
	for _, k := range slices.Sorted(maps.Keys(v.Summary.ByKind)) {
		row(k, v.Summary.ByKind[k])
	}
	p.Tables = []Table{t, {Caption: "Estimate", Head: []string{"what", "value"}, Rows: [][]string{
		{"requests", n(v.Estimate.Requests)}, {"seconds", strconv.FormatFloat(v.Estimate.Seconds, 'f', 0, 64)}}}}
	p.Columns = []string{"change", "kind", "action", "status", "source"}
	for i := range v.Changes {
		c := &v.Changes[i]
		p.Rows = append(p.Rows, []string{c.Line(), string(c.Kind), string(c.Action), "planned", c.Source})
	}
	for _, c := range v.Conflicts {
		p.Rows = append(p.Rows, []string{c.ExternalID + ": " + c.Reason, string(change.KindUser), "conflict", "needs a person", c.Source})
	}
	for _, nt := range v.Notices {
		p.Rows = append(p.Rows, []string{nt.ExternalID + "/" + nt.Provider + ": " + nt.Reason, string(change.KindCredential), "notice", "needs a person", nt.Source})
	}
	return p
}

func n(v int) string     { return strconv.Itoa(v) }
func n64(v int64) string { return strconv.FormatInt(v, 10) }

func httpStatus(s int) string {
	if s == 0 {
		return ""
	}
	return strconv.Itoa(s)
}
