package lifecycle

import (
	"fmt"
	"iter"
	"strings"

	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/planview"
	"github.com/leaf-import/leaf-import/internal/report"
)

// skippedRecords turns the plan's conflicts and notices into skipped records with their own
// actions (conflict, notice): what needs a person is counted as such, never as an update.
func skippedRecords(p *plan.Summary) []report.Record {
	var out []report.Record
	for _, c := range p.Conflicts {
		out = append(out, report.Record{ChangeID: plan.ChangeID(plan.KindUser, c.ExternalID, "", "", ""), Kind: plan.KindUser,
			Action: plan.ActionConflict, ExternalID: c.ExternalID, Status: report.StatusSkipped, ErrorCode: report.CodeConflict,
			Error:  fmt.Sprintf("%d Leaf users carry this externalId (%s)", len(c.LeafUserIDs), strings.Join(c.LeafUserIDs, ", ")),
			Source: c.Source.String()})
	}
	for _, n := range p.Notices {
		r := report.Record{Kind: n.Kind(), Action: plan.ActionNotice, ExternalID: n.ExternalID, Provider: n.Provider,
			LeafUserID: n.LeafUserID, Status: report.StatusSkipped, Source: n.Source.String()}
		if n.Reason == plan.ReasonReauthorize {
			r.ChangeID = plan.ChangeID(plan.KindCredential, n.ExternalID, n.Provider, "", "")
			r.ErrorCode = report.CodeReauthorize
			r.Error = "status " + n.Status + ": Leaf already holds the manifest's token; the grower must re-authorize"
		} else {
			// The grower's own change (a create, say) has the change id: the notice gets its own.
			r.ChangeID = "notice:" + plan.ChangeID(n.Kind(), n.ExternalID, n.Provider, "", "")
			r.ErrorCode, r.Error = report.CodeNotice, string(n.Reason)
		}
		out = append(out, r)
	}
	return out
}

// settledRecords accounts for earlier runs' changes that did not succeed then and that the new
// plan no longer needs: Leaf already matches (their answer was lost, or a later run's lookup
// found them done). After --replan they may instead have left the manifest: then they are
// skipped.
func settledRecords(prior *report.Prior, changes iter.Seq[*plan.Change], skipped []report.Record, digest string) []report.Record {
	// The prior records not done are few beside the plan: note them, then go through the plan
	// once for those it still needs.
	open := map[string]bool{}
	for _, r := range prior.All() {
		if r.Status != report.StatusSucceeded {
			open[r.ChangeID] = false
		}
	}
	if len(open) == 0 {
		return nil
	}
	for c := range changes {
		if _, ok := open[c.ID]; ok {
			open[c.ID] = true
		}
	}
	for _, r := range skipped {
		if _, ok := open[r.ChangeID]; ok {
			open[r.ChangeID] = true
		}
	}
	var out []report.Record
	for _, r := range prior.All() {
		if r.Status == report.StatusSucceeded || open[r.ChangeID] {
			continue
		}
		r.Attempts, r.HTTPStatus, r.DurationMs, r.ErrorCode, r.Error = 0, 0, 0, "", ""
		if prior.ManifestDigest != "" && prior.ManifestDigest != digest {
			r.Status, r.ErrorCode, r.Error = report.StatusSkipped, "not-planned", "no longer in the plan of the changed manifest"
		} else {
			r.Status, r.ResolvedByLookup = report.StatusSucceeded, true
		}
		out = append(out, r)
	}
	return out
}

// staleRecords reports the saved plan's stale changes skipped under --skip-stale.
func staleRecords(stale []planview.StaleChange) []report.Record {
	var out []report.Record
	for _, s := range stale {
		c := s.Saved
		out = append(out, report.Record{ChangeID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: c.ExternalID,
			Provider: c.Provider, AppName: c.AppName, LeafUserID: c.LeafUserID, Status: report.StatusSkipped,
			ErrorCode: report.CodeStale, Error: s.Why, Source: c.Source})
	}
	return out
}
