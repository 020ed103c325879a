#!/usr/bin/env bash
# make demo: start the built-in Leaf sandbox on a free loopback port and run leaf-import's main
# job against it: validate, plan, apply (with a report), then plan again to show nothing is left.
set -euo pipefail
BIN=${1:-bin/leaf-import}
out=demo-out
mkdir -p "$out"
rm -rf "$out"/run.json "$out"/state "$out"/export
# The account workspace (lock, run history, fingerprint key) of the demo stays in demo-out/.
export LEAF_IMPORT_STATE_DIR=$out/state
"$BIN" sandbox --addr 127.0.0.1:0 >"$out/sandbox.log" 2>&1 &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$out/sandbox.log" && break; sleep 0.05; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$out/sandbox.log")
export LEAF_API_URL=$url LEAF_USERNAME=sandbox LEAF_PASSWORD=sandbox
# The sample manifest's secrets are references; these fake values stand in for them.
set -a
# shellcheck disable=SC1091
. samples/demo.env
set +a
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Leaf sandbox at $url"
step "leaf-import validate samples/manifest.yaml"
"$BIN" validate samples/manifest.yaml
step "leaf-import plan samples/manifest.yaml   (nothing is sent)"
"$BIN" plan samples/manifest.yaml
step "leaf-import apply samples/manifest.yaml --report $out/run.json"
"$BIN" apply samples/manifest.yaml --report "$out/run.json" --rate 20 --log-format text
step "the report ($out/run.json): one record per change"
sed -n '/"records"/,$p' "$out/run.json" | sed -n '1,36p'
echo "  ..."
step "leaf-import plan samples/manifest.yaml --detailed-exitcode   (again: Leaf now matches)"
"$BIN" plan samples/manifest.yaml --detailed-exitcode && echo "exit 0: no changes"
step "leaf-import runs   (the account's history: each run's journal and report live in its workspace)"
"$BIN" runs
step "leaf-import status samples/manifest.yaml   (the health of every connection; exit 6 would mean a person is needed)"
"$BIN" status samples/manifest.yaml --rate 20
step "leaf-import doctor   (the account against leaf-import's assumptions, with a probe grower it deletes)"
"$BIN" doctor --rate 20
step "leaf-import plan samples/manifest.yaml --only grower-0002   (a selection: one grower's users read, nothing else)"
"$BIN" plan samples/manifest.yaml --only grower-0002
step "leaf-import export --out $out/export   (the account as a manifest, no secret in it; exit 6 lists what a manifest cannot hold)"
"$BIN" export --out "$out/export" --rate 20 || [ $? -eq 6 ]
sed -n '1,30p' "$out/export/manifest.yaml"
echo "  ..."
step "leaf-import plan $out/export/manifest.yaml --detailed-exitcode   (the export round-trips: no changes)"
"$BIN" plan "$out/export/manifest.yaml" --detailed-exitcode && echo "exit 0: no changes"
step "sandbox statistics"
curl -s "$url/__sandbox/stats"; echo
echo
echo "Report: $out/run.json   Workspace: $out/state"
