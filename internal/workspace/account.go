package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
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

// ResolveAccount names the account: the URL plus the owner, which is the login username, else
// the explicit --account, else the token's subject. A token run and a password run of one owner
// resolve to the same account. The owner is "" (and ErrNoAccount returned) when none is known.
func ResolveAccount(s AccountSettings) (Account, error) {
	a := Account{URL: normalizeURL(s.URL)}
	for _, name := range []string{s.Username, s.Explicit, s.TokenSubject} {
		if o := NormalizeOwner(name); o != "" {
			a.Owner = o
			return a, nil
		}
	}
	return a, ErrNoAccount
}

// NormalizeOwner trims and lower-cases an owner name (Leaf logins are case-insensitive).
func NormalizeOwner(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func normalizeURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.TrimSpace(raw), "/")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// String names the account for people: "sandbox at http://127.0.0.1:8089".
func (a Account) String() string { return fmt.Sprintf("%s at %s", a.Owner, a.URL) }

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
