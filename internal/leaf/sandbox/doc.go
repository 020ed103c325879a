// Package sandbox is an in-memory emulator of the Leaf API contract (docs/leaf-api.md §8 with the
// §9 assumptions), served as an http.Handler. Tests use it in-process through NewServer, like
// net/http/httptest; the `leaf-import sandbox` command serves it on loopback so that anyone
// can try the tool without a Leaf account.
//
// Besides the Leaf routes (authentication, users, credentials of every provider in the
// provider table, events, app keys, api keys) it injects seeded faults (statuses, 429s,
// connection resets before or after a mutation is committed, a stall after commit, latency,
// list visibility lag, token expiry, a fixed-window rate limit) and serves admin endpoints
// under /__sandbox/ (stats, state, reset, faults, credential status), which need no token,
// are never faulted and are not counted.
//
// It must not be linked into code paths other than tests and the sandbox command.
package sandbox
