package leaf

import (
	"net"
	"net/url"
	"strings"
)

// LoopbackHost is the one name every loopback spelling of a host becomes in a canonical URL:
// localhost, 127.0.0.0/8 and ::1 reach the same machine, and so the same Leaf.
const LoopbackHost = "localhost"

// CanonicalURL is the one spelling of a Leaf base URL that names its account: the scheme and
// host lowercased, the host's trailing dot and a default port (80 for http, 443 for https)
// dropped, every loopback name (localhost, 127.0.0.1, ::1, ...) written as "localhost",
// trailing slashes dropped, and userinfo, query and fragment removed. Two URLs that could reach
// the same Leaf account compare equal after it; when in doubt it merges rather than splits, so
// that the account lock covers more, never less. A URL it cannot parse is only trimmed.
func CanonicalURL(raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return strings.TrimRight(raw, "/")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if isLoopbackName(host) {
		host = LoopbackHost
	}
	if strings.Contains(host, ":") { // an IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	out := url.URL{Scheme: scheme, Host: host, Path: strings.TrimRight(u.Path, "/")}
	return out.String()
}

// isLoopbackName reports whether host names this machine: "localhost" (and names under it,
// RFC 6761), or a loopback IP address of either family.
func isLoopbackName(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
