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
	"slices"
	"strings"
	"time"

	"github.com/leaf-import/leaf-import/internal/atomicfile"
	"github.com/leaf-import/leaf-import/internal/change"
	"github.com/leaf-import/leaf-import/internal/csvcell"
	"github.com/leaf-import/leaf-import/internal/exec"
	"github.com/leaf-import/leaf-import/internal/leaf"
	"github.com/leaf-import/leaf-import/internal/manifest"
	"github.com/leaf-import/leaf-import/internal/plan"
	"github.com/leaf-import/leaf-import/internal/report"
)

// KeysFor says who gets a Leaf Link key.
type KeysFor string

const (
	// ForAll: every grower who must act.
	ForAll KeysFor = "all"
	// ForReauthorize: growers with a credential that re-posting the manifest's token cannot repair.
	ForReauthorize KeysFor = "reauthorize"
	// ForConnect: growers with no connection at all.
	ForConnect KeysFor = "connect"
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
	For KeysFor
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
// of the account, and issued again. No key appears anywhere but Out. A grower holds at most one
// valid key leaf-import issued: the newest stays, the others are revoked (what an interrupted
// --rotate leaves).
func LinkKeys(ctx context.Context, o LinkKeysOptions) (*LinkKeysResult, error) {
	if err := checkKeyFile(o.Out); err != nil {
		return nil, err
	}
	sh, err := EnterShell(ctx, &o.Options, o.LookupWindow, o.Concurrency)
	if err != nil {
		return nil, err
	}
	defer sh.Leave()
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
	if err := sh.Begin("link-keys", o.ManifestPath); err != nil {
		out.Close()
		return nil, err
	}
	k := &keyRun{o: &o, sh: sh, out: out, res: &LinkKeysResult{RunID: sh.runID, Report: sh.run.ReportPath()}}
	runErr := k.growers(ctx, byExt)
	if cerr := out.Close(); runErr == nil {
		runErr = cerr
	}
	_, werr := sh.End(runErr, k.res.Failed > 0, o.KeepRuns)
	if runErr == nil {
		runErr = werr
	}
	return k.res, runErr
}

// keyRun is one link-keys run in progress.
type keyRun struct {
	o   *LinkKeysOptions
	sh  *Shell
	out *keyFile
	res *LinkKeysResult
}

// growers goes through the manifest's growers that have one Leaf user (none: apply creates it;
// several: a conflict that status and plan name).
func (k *keyRun) growers(ctx context.Context, byExt map[string][]*leaf.User) error {
	for _, g := range k.o.Manifest.Growers {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		us := byExt[g.ExternalID]
		if len(us) != 1 {
			if len(us) == 0 {
				k.res.NoUser++
			}
			continue
		}
		if err := k.grower(ctx, g, us[0]); err != nil {
			return err
		}
	}
	return nil
}

// reason says why grower g (Leaf user u) must act, "" when it need not.
func (k *keyRun) reason(g *manifest.Grower, u *leaf.User) KeysFor {
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

func (k *keyRun) grower(ctx context.Context, g *manifest.Grower, u *leaf.User) error {
	reason := k.reason(g, u)
	if reason == "" && !k.o.RevokeExpired {
		return nil // nothing to issue or revoke: its keys are not read (a request per grower)
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
			if err := k.revoke(ctx, g, u, key, "expired or invalid"); err != nil {
				return err
			}
		}
	}
	// One valid key per grower: the newest (its label names the run that issued it) stays.
	slices.SortStableFunc(valid, func(a, b leaf.APIKey) int { return strings.Compare(b.Description, a.Description) })
	for len(valid) > 1 {
		if err := k.revoke(ctx, g, u, valid[len(valid)-1], "superseded by a newer key (an interrupted --rotate)"); err != nil {
			return err
		}
		valid = valid[:len(valid)-1]
	}
	switch {
	case reason == "":
		return nil
	case len(valid) > 0 && !k.o.Rotate:
		k.res.Kept++
		return nil
	}
	if issued, err := k.issue(ctx, g, u, reason); err != nil || !issued {
		return err
	}
	for _, old := range valid { // --rotate: the new key is out; now the old one goes
		if err := k.revoke(ctx, g, u, old, "rotated"); err != nil {
			return err
		}
	}
	return nil
}

// issue creates a key: intent, POST, the key to the file (fsynced), then the outcome. It
// reports whether the key was issued; an error stops the run.
func (k *keyRun) issue(ctx context.Context, g *manifest.Grower, u *leaf.User, reason KeysFor) (bool, error) {
	nonce := make([]byte, 6)
	_, _ = rand.Read(nonce)
	label := LabelPrefix + k.sh.runID + " " + hex.EncodeToString(nonce)
	c := &plan.Change{ID: "api-key:" + g.ExternalID, Kind: change.KindAPIKey, Action: change.ActionCreate, ExternalID: g.ExternalID,
		LeafUserID: u.ID, Source: g.Loc}
	rec := report.Record{ChangeID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: g.ExternalID, LeafUserID: u.ID,
		Source: g.Loc.String(), StartedAt: time.Now().UTC()}
	var fileErr error
	_, err := exec.Send(ctx, k.sh.journal, exec.Mutation{Change: c, Step: change.StepPost, UserID: u.ID, Label: label},
		func(ctx context.Context) (string, error) {
			key, err := k.o.Client.CreateAPIKey(ctx, u.ID, int(k.o.ExpiresIn/time.Second), label)
			if err != nil {
				return "", err
			}
			if err := k.out.row(g.ExternalID, u.ID, string(reason), key.Key.Reveal(), key.ExpiresAt); err != nil {
				fileErr = fmt.Errorf("writing the key of %s to %s: %w (the next run revokes it)", g.ExternalID, k.o.Out, err)
				return key.ID, exec.LeaveInDoubt(fileErr)
			}
			return key.ID, nil
		})
	switch {
	case fileErr != nil:
		return false, fileErr
	case exec.IsJournal(err):
		k.failed(rec, err)
		return false, err
	case err != nil:
		// In doubt or refused: the next run looks the label up and revokes whatever was made.
		k.failed(rec, err)
		return false, nil
	}
	k.res.Issued++
	rec.Status = report.StatusSucceeded
	k.sh.Record(rec)
	return true, nil
}

// revoke revokes a key leaf-import issued; a journal that cannot be written stops the run
// before the DELETE is sent.
func (k *keyRun) revoke(ctx context.Context, g *manifest.Grower, u *leaf.User, key leaf.APIKey, why string) error {
	c := &plan.Change{ID: "api-key:" + g.ExternalID + "#" + key.ID, Kind: change.KindAPIKey, Action: change.ActionDelete,
		ExternalID: g.ExternalID, LeafUserID: u.ID}
	rec := report.Record{ChangeID: c.ID, Kind: c.Kind, Action: c.Action, ExternalID: g.ExternalID, LeafUserID: u.ID,
		StartedAt: time.Now().UTC()}
	_, err := exec.Send(ctx, k.sh.journal, exec.Mutation{Change: c, Step: change.StepDelete, UserID: u.ID},
		func(ctx context.Context) (string, error) {
			err := k.o.Client.RevokeAPIKey(ctx, key.ID)
			if leaf.IsNotFound(err) {
				err = nil // gone already, as wanted
			}
			return key.ID, err
		})
	if err != nil {
		k.failed(rec, err)
		if exec.IsJournal(err) {
			return err
		}
		return nil
	}
	k.res.Revoked++
	rec.Status, rec.Error = report.StatusSucceeded, "revoked: "+why
	k.sh.Record(rec)
	return nil
}

// failed records a key that could not be issued or revoked.
func (k *keyRun) failed(rec report.Record, err error) {
	k.res.Failed++
	rec.Status, rec.ErrorCode, rec.Error = report.StatusFailed, leaf.ErrorCode(err), err.Error()
	k.sh.Record(rec)
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
