// Package metrics writes what a nightly job needs to alert on as a Prometheus text file
// (--metrics-file), for node_exporter's textfile collector: the last run's time, duration and
// outcome, its changes and requests, and the growers needing a person; from status, the
// credentials by provider and status. It uses the Prometheus Go client to build and encode the
// metrics, and writes the file atomically (a temporary file renamed into place).
//
// It only encodes figures it is given: it does not talk to Leaf nor read reports.
package metrics
