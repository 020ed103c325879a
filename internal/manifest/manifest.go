package manifest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// ManifestVersion is the manifest format version this package reads.
const ManifestVersion = 1

// Loc is a place in a manifest file.
type Loc struct {
	File string
	Line int
}

func (l Loc) String() string {
	if l.File == "" {
		return ""
	}
	var buf [96]byte
	return string(l.AppendTo(buf[:0]))
}

// AppendTo appends what String returns.
func (l Loc) AppendTo(dst []byte) []byte {
	dst = append(dst, l.File...)
	if l.Line == 0 {
		return dst
	}
	return strconv.AppendInt(append(dst, ':'), int64(l.Line), 10)
}

// Manifest is the desired state: growers with their provider connections, and the API owner's
// provider apps. Every value is resolved (references replaced by what they name).
type Manifest struct {
	Apps    []*App
	Growers []*Grower
	// Digest is "sha256:<hex>" over the bytes of the manifest and of its growers CSV.
	Digest string
	// LiteralSecretFiles are the files that hold a secret written literally (not a reference).
	LiteralSecretFiles []string
	// Partial is set for a --failed-rows file fed back: it lists some growers only, so nothing
	// may be pruned by it.
	Partial bool
}

// Grower is one Leaf user to exist. Empty scalar fields are not managed.
type Grower struct {
	ExternalID string
	Name       string
	Email      string
	Phone      string
	Address    string
	// Connections are sorted by provider name, one per provider.
	Connections []*Connection
	// Config is the grower's Leaf configuration: the manifest's defaults with the grower's own
	// flags over them (nil: not managed). Growers without flags of their own share the
	// defaults' slice, which is never modified.
	Config leaf.Config
	Loc    Loc
}

// Connection returns the grower's connection to p, nil when there is none.
func (g *Grower) Connection(p *leaf.Provider) *Connection {
	for _, c := range g.Connections {
		if c.Provider == p {
			return c
		}
	}
	return nil
}

// Connection is a provider credential a grower should hold: its fields after the manifest's
// defaults were merged under it.
type Connection struct {
	Provider *leaf.Provider
	Fields   leaf.Fields
	Loc      Loc
}

// App is a provider application registration (Leaf Link app key).
type App struct {
	Provider *leaf.Provider
	AppName  string
	// Environment is the {clientEnvironment} path segment; "" for providers without one.
	Environment string
	Fields      leaf.Fields
	Loc         Loc
}

// Key identifies the app: provider/appName[/environment].
func (a *App) Key() string {
	k := a.Provider.Name + "/" + a.AppName
	if a.Environment != "" {
		k += "/" + a.Environment
	}
	return k
}

// Problem is one thing wrong with a manifest, located by file, line and field.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// More is set only on the last entry of a capped list: how many problems were found beyond
	// the ones listed.
	More int `json:"more,omitempty"`
}

func (p Problem) String() string {
	if p.More > 0 {
		return fmt.Sprintf("%s: … and %d more problem(s) not shown (the first %d are listed)", p.File, p.More, MaxProblems)
	}
	loc := Loc{File: p.File, Line: p.Line}.String()
	if p.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, p.Field, p.Message)
	}
	return fmt.Sprintf("%s: %s", loc, p.Message)
}

// MaxProblems bounds the problems a manifest reports: the first ones in file and line order,
// then one entry that counts the rest. A file with 100,000 bad columns must not print
// megabytes of the same complaint.
const MaxProblems = 100

// maxKept bounds the problems held while reading, before they are sorted and cut to
// MaxProblems: readers go through a file in order, so the first MaxProblems are among them.
const maxKept = 10 * MaxProblems

// Problems is the problems found in a manifest, in file and line order: at most MaxProblems of
// them, and then, when there were more, one entry whose More counts the rest.
type Problems []Problem

// Count is how many problems were found, the ones not listed included.
func (ps Problems) Count() int {
	n := len(ps)
	if n > 0 && ps[n-1].More > 0 {
		n += ps[n-1].More - 1
	}
	return n
}

func (ps Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the manifest has %d problem(s):", ps.Count())
	for _, p := range ps {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// collector gathers problems while a manifest is read, holding at most maxKept of them.
type collector struct {
	ps Problems
	// dropped counts problems found past maxKept.
	dropped int
}

// add records a problem. Field and message may carry text from the manifest: both are escaped
// and bounded here, whatever the caller formatted.
func (c *collector) add(loc Loc, field, format string, args ...any) {
	if len(c.ps) >= maxKept {
		c.dropped++
		return
	}
	c.ps = append(c.ps, Problem{File: loc.File, Line: loc.Line, Field: safeText(field, maxShown),
		Message: safeText(fmt.Sprintf(format, args...), 512)})
}

// merge takes the problems a worker collected.
func (c *collector) merge(ps []Problem) {
	room := min(maxKept-len(c.ps), len(ps))
	c.ps = append(c.ps, ps[:max(room, 0)]...)
	c.dropped += len(ps) - max(room, 0)
}

// sorted returns the problems in file and line order, cut to MaxProblems and a count of the rest.
func (c *collector) sorted() Problems {
	sort.SliceStable(c.ps, func(i, j int) bool {
		a, b := c.ps[i], c.ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	more := c.dropped
	if len(c.ps) > MaxProblems {
		more += len(c.ps) - MaxProblems
		c.ps = c.ps[:MaxProblems]
	}
	if more > 0 {
		c.ps = append(c.ps, Problem{File: c.ps[len(c.ps)-1].File, Message: fmt.Sprintf("%d more problem(s)", more), More: more})
	}
	return c.ps
}

// ProbePrefix starts the externalId of the probe users leaf-import doctor creates and deletes.
// A plan never counts, changes or prunes them: a probe left by a crash is doctor's to delete.
const ProbePrefix = "leaf-import-probe-"

// IsProbe reports whether externalId is a doctor probe's.
func IsProbe(externalID string) bool { return strings.HasPrefix(externalID, ProbePrefix) }

// AppKeyOf names an app registration: provider/appName, and /env for the providers whose apps
// have environments.
func AppKeyOf(p *leaf.Provider, appName, env string) string {
	if p.AppKey != nil && p.AppKey.WithEnvironment {
		return p.Name + "/" + appName + "/" + env
	}
	return p.Name + "/" + appName
}
