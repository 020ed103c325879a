package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/leaf-import/leaf-import/internal/leaf"
)

// Account is a Leaf account: the API's base URL and the API owner that authenticates to it.
// Everything leaf-import remembers is kept per account.
type Account struct {
	URL   string
	Owner string
}

// ErrNoAccount is returned when the API owner cannot be told from the environment.
var ErrNoAccount = errors.New("cannot tell which API owner LEAF_TOKEN belongs to: set --account NAME or LEAF_ACCOUNT " +
	"(the login username of the API owner), so that runs of one account share one lock and one history")

// AccountSettings are what the account is resolved from.
type AccountSettings struct {
	URL string
	// Username is LEAF_USERNAME; it names the owner when set.
	Username string
	// Explicit is --account or LEAF_ACCOUNT; it names the owner of a token run.
	Explicit string
	// TokenSubject is the subject claim of LEAF_TOKEN, when it is a JWT that has one.
	TokenSubject string
}

// MismatchError refuses an account named two ways that disagree: --account (or LEAF_ACCOUNT)
// beside a token whose subject is someone else, or a login and a token of two owners. Running
// would put one owner's runs under another's lock and history.
type MismatchError struct {
	// What and Other name the two sources ("--account/LEAF_ACCOUNT", "LEAF_TOKEN's subject",
	// "LEAF_USERNAME"); Name and OtherName are what they said.
	What, Name, Other, OtherName string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s names API owner %q but %s is %q: they must name the same owner (--account is only needed "+
		"for a token without a subject); nothing was sent", e.What, e.Name, e.Other, e.OtherName)
}

// ResolveAccount names the account: the canonical URL (leaf.CanonicalURL: every spelling of one
// Leaf is one account) plus the owner. The owner is what authenticates: the subject of the
// token, the login username, and --account for a token without a subject. Every source given
// must name the same owner, or a *MismatchError refuses the run; none at all is ErrNoAccount.
func ResolveAccount(s AccountSettings) (Account, error) {
	a := Account{URL: leaf.CanonicalURL(s.URL)}
	sources := []struct{ what, name string }{
		{"LEAF_TOKEN's subject", s.TokenSubject},
		{"LEAF_USERNAME", s.Username},
		{"--account/LEAF_ACCOUNT", s.Explicit},
	}
	first := -1
	for i, src := range sources {
		o := NormalizeOwner(src.name)
		if o == "" {
			continue
		}
		if first < 0 {
			first, a.Owner = i, o
			continue
		}
		if o != a.Owner {
			return Account{URL: a.URL}, &MismatchError{What: src.what, Name: strings.TrimSpace(src.name),
				Other: sources[first].what, OtherName: strings.TrimSpace(sources[first].name)}
		}
	}
	if a.Owner == "" {
		return a, ErrNoAccount
	}
	return a, nil
}

// NormalizeOwner trims and lower-cases an owner name (Leaf logins are case-insensitive).
func NormalizeOwner(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// String names the account for people: "sandbox at http://127.0.0.1:8089".
func (a Account) String() string { return fmt.Sprintf("%s at %s", a.Owner, a.URL) }

// Label names the account in metrics: the owner at the Leaf host (and path), "sandbox@localhost:8089"
// or "owner@api.withleaf.io". Every spelling of one account gives one label (the URL is
// canonical); an owner not known yet is "unknown".
func (a Account) Label() string {
	owner := a.Owner
	if owner == "" {
		owner = "unknown"
	}
	host := a.URL
	if u, err := url.Parse(a.URL); err == nil && u.Host != "" {
		host = u.Host + strings.TrimSuffix(u.Path, "/")
	}
	return owner + "@" + host
}

// dirName is the account's directory: readable (host, port and owner, with anything but
// letters, digits, '.', '-' and '_' replaced) and unique (a short hash of URL and owner, so
// that two accounts that read alike never share a directory).
func (a Account) dirName() string {
	host := a.URL
	if u, err := url.Parse(a.URL); err == nil && u.Host != "" {
		host = u.Host + u.Path
	}
	sum := sha256.Sum256([]byte(a.URL + "\n" + a.Owner))
	return clean(host, 60) + "--" + clean(a.Owner, 60) + "--" + hex.EncodeToString(sum[:])[:8]
}

// ownerFileName names the owner's lock file: readable and unique, like dirName.
func (a Account) ownerFileName() string {
	sum := sha256.Sum256([]byte(a.Owner))
	return clean(a.Owner, 60) + "--" + hex.EncodeToString(sum[:])[:8]
}

func clean(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
