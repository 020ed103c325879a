// Package check holds the tests of the deployment files under deploy/: the kustomize base and its
// overlay rendered with kustomize's own Go API, every object decoded strictly into the
// Kubernetes API types and every pod held to the restricted Pod Security Standard by the
// evaluator the API server uses (k8s.io/pod-security-admission); and the alert rules run through
// promtool's unit tests. It is a module of its own so that the Kubernetes libraries stay out of
// leaf-import's build. `make deploy-check` (part of `make test`) runs it.
package check
