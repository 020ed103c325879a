// Package metrics publishes what a nightly job needs to alert on: for apply, the last run's time,
// duration and outcome, the last success (carried forward by a failed run), its changes, requests,
// re-sent requests by cause and lookups, and the growers needing a person; for status, the
// credentials by provider and status; for link-keys, the keys by result. Every known label value
// is written with its zero, so that no series vanishes between runs.
//
// A Destination writes them as a Prometheus text file for node_exporter's textfile collector
// (--metrics-file, atomically) and pushes them to a Pushgateway (--metrics-push, client_golang's
// push package, grouped by job and account). It uses the Prometheus Go client to build and encode
// the metrics. It only encodes figures it is given: it does not talk to Leaf nor read reports.
package metrics
