package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/csvcell"
	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
	"github.com/leaf-import/leaf-import/internal/workspace"
)

// Who needs a Leaf Link key.
const (
	ForAll         = "all"
	ForReauthorize = "reauthorize"
	ForConnect     = "connect"
)

// LabelPrefix starts the description of every API key leaf-import issues: how it tells its
// keys from the ones other tools issued.
const LabelPrefix = "leaf-import link-keys "

// LinkKeysOptions configure LinkKeys.
type LinkKeysOptions struct {
	Options
	ManifestPath string
	// Out is the CSV file the keys are appended to (mode 0600).
	Out string
	// For narrows who gets a key: ForAll, ForReauthorize or ForConnect.
	For string
	// ExpiresIn is the keys' lifetime.
	ExpiresIn time.Duration
	// Rotate issues a new key even to growers that hold a valid one (created first, the old one
	// revoked after). RevokeExpired revokes the expired and invalid keys leaf-import issued.
	Rotate        bool
	RevokeExpired bool
	LookupWindow  time.Duration
	Concurrency   int
	KeepRuns      int
}

// LinkKeysResult says what a link-keys run did.
type LinkKeysResult struct {
	RunID   string
	Report  string
	Issued  int
	Kept    int
	Revoked int
	Failed  int
	// NoUser counts managed growers without a Leaf user yet (apply creates them).
	NoUser int
}

// LinkKeys issues a Leaf Link API key to each managed grower who must act: whose credential
// needs re-authorization (re-posting the manifest's token cannot help), or who has no
// connection at all. Each key goes to Out, fsynced, before its outcome is journaled; a key whose
// value never reached Out (a crash in between) is found by its label and revoked by the next run
// of the account, and issued again. No key appears anywhere but Out.
func LinkKeys(ctx context.Context, o LinkKeysOptions) (*LinkKeysResult, error) {
	start := time.Now()
	runID := NewRunID(start)
	if err := checkKeyFile(o.Out); err != nil {
		return nil, err
	}
	s, err := open(o.Options, true)
	if err != nil {
		return nil, err
	}
	lock, err := s.lock(runID, start)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if err := o.Client.Authenticate(ctx); err != nil {
		return nil, err
	}
	h, err := s.history()
	if err != nil {
		return nil, err
	}
	ds := doubtfuls(h)
	if _, err := settle(ctx, &o.Options, o.LookupWindow, o.Concurrency, runID, ds); err != nil {
		return nil, err
	}
	users, err := o.Client.ListUsers(ctx, leaf.UserFilter{})
	if err != nil {
		return nil, fmt.Errorf("reading Leaf users: %w", err)
	}
	byExt := map[string][]*leaf.User{}
	for i := range users {
		if u := &users[i]; u.ExternalID != "" {
			byExt[u.ExternalID] = append(byExt[u.ExternalID], u)
		}
	}

	out, err := openKeyFile(o.Out)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	run, err := s.ws.NewRun(workspace.Meta{RunID: runID, StartedAt: start.UTC(), Status: workspace.RunRunning, Tool: o.Tool, Command: "link-keys",
		PID: os.Getpid(), Host: host, Manifest: absPath(o.ManifestPath)})
	if err != nil {
		out.Close()
		return nil, err
	}
	journal, err := exec.OpenJournal(run.Journal(), report.Header{RunID: runID, Tool: o.Tool, ManifestDigest: o.Manifest.Digest,
		LeafURL: o.Client.BaseURL(), Account: o.Account.Owner, Report: run.ReportPath()})
	if err != nil {
		out.Close()
		return nil, err
	}
	k := &keyRun{o: &o, runID: runID, journal: journal, out: out, res: &LinkKeysResult{RunID: runID, Report: run.ReportPath()}}
	rrun := report.Run{ID: runID, Tool: o.Tool, ManifestDigest: o.Manifest.Digest, LeafURL: o.Client.BaseURL(),
		Account: o.Account.Owner, Journal: run.Journal(), StartedAt: start.UTC()}
	k.rw = report.NewWriter(run.ReportPath(), rrun, nil)
	var runErr error
	for _, g := range o.Manifest.Growers {
		if ctx.Err() != nil {
			runErr = ctx.Err()
			break
		}
		us := byExt[g.ExternalID]
		if len(us) != 1 {
			if len(us) == 0 {
				k.res.NoUser++
			}
			continue // absent (apply creates it) or a conflict (status and plan name it)
		}
		if err := k.grower(ctx, g, us[0]); err != nil {
			runErr = err
			break
		}
	}
	cerr := out.Close()
	if runErr == nil {
		runErr = cerr
	}
	stats := o.Client.Stats()
	rrun.EndedAt = time.Now().UTC()
	summary, _, werr := k.rw.Close(rrun, report.RunStats{Requests: stats.Requests, Retries: stats.Retries,
		Duration: rrun.EndedAt.Sub(start)})
	jerr := journal.Close()
	run.Meta.Status, run.Meta.FinishedAt, run.Meta.Summary = workspace.RunSucceeded, rrun.EndedAt, &summary
	if runErr != nil || k.res.Failed > 0 || werr != nil {
		run.Meta.Status = workspace.RunFailed
	}
	run.Meta.Settled = jerr == nil && journal.Open() == 0
	if err := run.Save(); err != nil {
		o.Log.Error("cannot record the run in the account's history", "err", err)
	}
	if _, err := s.ws.Prune(o.KeepRuns, runID); err != nil {
		o.Log.Warn("cannot remove old runs", "err", err)
	}
	if runErr == nil {
		runErr = werr
	}
	return k.res, runErr
}

// keyRun is one link-keys run in progress.
type keyRun struct {
	o       *LinkKeysOptions
	runID   string
	journal *exec.Journal
	out     *keyFile
	rw      *report.Writer
	res     *LinkKeysResult
	seq     int
}

// reason says why grower g (Leaf user u) must act, "" when it need not.
func (k *keyRun) reason(g *plan.Grower, u *leaf.User) string {
	if len(u.Credentials) == 0 {
		if k.o.For != ForReauthorize {
			return ForConnect
		}
		return ""
	}
	if k.o.For == ForConnect {
		return ""
	}
	for _, cr := range u.Credentials {
		if cr.Healthy() {
			continue
		}
		if c := g.Connection(cr.Provider); c == nil || !plan.ReauthorizeHelps(c, cr) {
			return ForReauthorize
		}
	}
	return ""
}

func (k *keyRun) grower(ctx context.Context, g *plan.Grower, u *leaf.User) error {
	reason := k.reason(g, u)
	if reason == "" && !k.o.RevokeExpired {
		return nil
	}
	keys, err := k.o.Client.ListAPIKeys(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("reading the API keys of %s: %w", g.ExternalID, err)
	}
	var valid []leaf.APIKey
	for _, key := range keys {
		if !strings.HasPrefix(key.Description, LabelPrefix) || key.RevokedAt != "" {
			continue
		}
		if key.Valid {
			valid = append(valid, key)
		} else if k.o.RevokeExpired {
			k.revoke(ctx, g, u, key, "expired or invalid")
		}
	}
	switch {
	case reason == "":
		return nil
	case len(valid) > 0 && !k.o.Rotate:
		k.res.Kept++
		return nil
	}
	if err := k.issue(ctx, g, u, reason); err != nil {
		return err
	}
	for _, old := range valid { // --rotate: the new key is out; now the old ones go
		k.revoke(ctx, g, u, old, "rotated")
	}
	return nil
}

// issue creates a key: intent, POST, the key to the file (fsynced), then the outcome.
func (k *keyRun) issue(ctx context.Context, g *plan.Grower, u *leaf.User, reason string) error {
	nonce := make([]byte, 6)
	_, _ = rand.Read(nonce)
	label := LabelPrefix + k.runID + " " + hex.EncodeToString(nonce)
	c := &plan.Change{ID: "api-key:" + g.ExternalID, Kind: change.KindAPIKey, Action: change.ActionCreate, ExternalID: g.ExternalID,
		LeafUserID: u.ID, Source: g.Loc}
	rec := report.Record{ChangeID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: g.ExternalID, LeafUserID: u.ID,
		Source: g.Loc.String(), StartedAt: time.Now().UTC()}
	if err := k.journal.IntentLabeled(c, change.StepPost, 0, u.ID, label); err != nil {
		return err
	}
	key, err := k.o.Client.CreateAPIKey(ctx, u.ID, int(k.o.ExpiresIn/time.Second), label)
	if err != nil {
		// In doubt or refused: the next run looks the label up and revokes whatever was made.
		k.res.Failed++
		rec.Status, rec.ErrorCode, rec.Error = report.StatusFailed, leaf.ErrorCode(err), err.Error()
		k.record(rec)
		return nil
	}
	if err := k.out.row(g.ExternalID, u.ID, reason, key.Key.Reveal(), key.ExpiresAt); err != nil {
		return fmt.Errorf("writing the key of %s to %s: %w (the next run revokes it)", g.ExternalID, k.o.Out, err)
	}
	if err := k.journal.Outcome(c, change.StepPost, 0, u.ID, change.OutcomeSucceeded, "", 201, ""); err != nil {
		return err
	}
	k.res.Issued++
	rec.Status = report.StatusSucceeded
	k.record(rec)
	return nil
}

func (k *keyRun) revoke(ctx context.Context, g *plan.Grower, u *leaf.User, key leaf.APIKey, why string) {
	c := &plan.Change{ID: "api-key:" + g.ExternalID + "#" + key.ID, Kind: change.KindAPIKey, Action: change.ActionDelete,
		ExternalID: g.ExternalID, LeafUserID: u.ID}
	rec := report.Record{ChangeID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: g.ExternalID, LeafUserID: u.ID,
		StartedAt: time.Now().UTC(), Status: report.StatusSucceeded, Error: "revoked: " + why}
	if err := k.journal.Intent(c, change.StepDelete, 0, u.ID); err == nil {
		err = k.o.Client.RevokeAPIKey(ctx, key.ID)
		status := change.OutcomeSucceeded
		if err != nil && !leaf.IsNotFound(err) {
			status = change.OutcomeFailed
			k.res.Failed++
			rec.Status, rec.ErrorCode, rec.Error = report.StatusFailed, leaf.ErrorCode(err), err.Error()
		} else {
			k.res.Revoked++
		}
		_ = k.journal.Outcome(c, change.StepDelete, 0, u.ID, status, key.ID, 0, "")
	}
	k.record(rec)
}

func (k *keyRun) record(r report.Record) {
	k.seq++
	r.Seq, r.RunID = k.seq, k.runID
	_ = k.journal.Record(r)
	k.rw.Add(r)
}

// keyFile is the CSV the keys go to: mode 0600, a header when new, every row fsynced.
type keyFile struct {
	f *os.File
	w *csvcell.Writer
}

func openKeyFile(path string) (*keyFile, error) {
	if err := checkKeyFile(path); err != nil {
		return nil, err
	}
	f, err := atomicfile.OpenAppend(path, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	kf := &keyFile{f: f, w: csvcell.NewWriter(f, true)}
	info, err := f.Stat()
	if err == nil && info.Size() > 0 {
		err = checkKeyHeader(f, path)
	}
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil && info.Size() == 0 {
		err = kf.row(keyFileHeader...)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return kf, nil
}

// keyFileHeader is the first line of a link-keys file.
var keyFileHeader = []string{"externalId", "leafUserId", "reason", "key", "expiresAt"}

// checkKeyFile checks --out before anything is sent: a .csv path, and when the file exists, a
// regular file (not a link) that an earlier link-keys run wrote, so that keys are appended to
// their own file only. Nothing is created or changed here.
func checkKeyFile(path string) error {
	if path == "" {
		return fmt.Errorf("--out FILE is required: the keys are shown once and go nowhere else")
	}
	if !strings.EqualFold(filepath.Ext(path), ".csv") {
		return fmt.Errorf("--out %s: the keys are written as CSV (.csv)", path)
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return atomicfile.CheckWritable(path)
	case err != nil:
		return fmt.Errorf("--out: %w", err)
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("--out %s is a symbolic link: name the link-keys file itself", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("--out %s is not a regular file", path)
	case fi.Size() == 0:
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer f.Close()
	return checkKeyHeader(f, path)
}

// checkKeyHeader refuses a file whose first line is not the link-keys header.
func checkKeyHeader(f io.ReaderAt, path string) error {
	want := strings.Join(keyFileHeader, ",") + "\n"
	got := make([]byte, len(want))
	if n, _ := f.ReadAt(got, 0); n < len(want) || string(got) != want {
		return fmt.Errorf("--out %s exists and is not a link-keys file (its first line is not %q); it was left untouched: name a new file or an earlier run's keys file",
			path, strings.TrimSpace(want))
	}
	return nil
}

func (k *keyFile) row(cells ...string) error {
	if err := k.w.Write(cells); err != nil {
		return err
	}
	k.w.Flush()
	if err := k.w.Error(); err != nil {
		return err
	}
	return k.f.Sync()
}

func (k *keyFile) Close() error { return k.f.Close() }
