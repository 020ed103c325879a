// Package manifest owns the manifest: its types (Manifest, Grower, Connection, App), the YAML
// and CSV readers (from an io.Reader, grower by grower, with every problem located at
// file:line and field, and bounded: at most MaxProblems listed), secret references (${ENV},
// ${file:PATH}, ${keep}) resolved through a Source the caller provides, the field limits, the
// JSON Schema of the YAML form, the writer of export (an account written back as a manifest)
// and the failed-rows CSV.
//
// Manifests are untrusted: text taken from one is shown only escaped and bounded (Quoted,
// SafeText). It does no I/O of its own beyond the Source it is given, and it knows nothing of
// Leaf's current state or of plans.
package manifest
