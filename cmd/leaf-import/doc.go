// Command leaf-import onboards growers into the Leaf Agriculture API in bulk and keeps them in
// sync: validate a manifest, plan the difference to Leaf, apply it under a rate limit with
// retries, a journal and a report; or serve a local Leaf sandbox.
//
// This package only wires flags to the internal packages and their results to exit codes
// (exitcode.go is the one mapping); what a command does lives under internal/.
package main
