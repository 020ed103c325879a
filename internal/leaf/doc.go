// Package leaf is the typed client of the Leaf Agriculture API as leaf-import
// uses it: authentication, Leaf users, provider credentials, Leaf Link app keys
// and api keys, credential events.
//
// It owns:
//   - the provider table (providers.go), the one place that knows provider
//     specifics: credential paths, user-object field names, required, secret,
//     rotating and identity fields, environment rules and app-key shapes;
//   - the request funnel (Client.do), which alone sets authentication, waits on
//     the shared Pacer for every attempt, retries what the retry classifier
//     allows, decodes and maps statuses to typed errors;
//   - the pure retry classifier and the full-jitter backoff;
//   - the Pacer: the process-wide rate limiter that every request passes, and
//     the pure pace model behind it (pace.go) that learns the account's limit
//     from Leaf's answers (--rate auto) and tells the limit from sporadic 429s;
//   - the account's identity as far as the API tells it: the canonical spelling
//     of a Leaf URL (identity.go) and the subject of a token;
//   - Secret, a string that never prints, logs or marshals its value.
//
// It must not know about manifests, plans or reports. Error strings never carry
// a secret, a token or a raw response body.
package leaf
