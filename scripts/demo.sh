#!/usr/bin/env bash
# make demo: start the built-in sandbox on a free loopback port and walk through it.
set -euo pipefail
BIN=${1:-bin/leaf-import}
work=$(mktemp -d)
"$BIN" sandbox --addr 127.0.0.1:0 >"$work/sandbox.out" 2>&1 &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$work/sandbox.out" && break; sleep 0.05; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/sandbox.out")
echo "== sandbox at $url"
step() { echo; echo "== $*"; }

step "the providers leaf-import knows"
"$BIN" providers

api=$url/services/usermanagement/api
step "authenticate as the sandbox API owner"
token=$(curl -s -X POST "$url/api/authenticate" -H 'Content-Type: application/json' \
  -d '{"username":"sandbox","password":"sandbox","rememberMe":"true"}' | sed 's/.*"id_token":"\([^"]*\)".*/\1/')
echo "token: ${token:0:16}..."
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
step "create a grower and connect John Deere"
id=$(curl -s -X POST "$api/users" "${auth[@]}" -d '{"name":"Jane Smith","email":"jane@example.com","externalId":"grower-0001"}' \
  | sed 's/.*"id":"\([^"]*\)".*/\1/')
curl -s -X POST "$api/users/$id/john-deere-credentials" "${auth[@]}" \
  -d '{"clientKey":"demo-key","clientSecret":"demo-secret","refreshToken":"demo-token","clientEnvironment":"STAGE"}' >/dev/null
curl -s "$api/users?externalId=grower-0001" "${auth[@]}"; echo
step "sandbox statistics"
curl -s "$url/__sandbox/stats"; echo
