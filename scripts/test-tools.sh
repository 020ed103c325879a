#!/usr/bin/env bash
# Installs the real programs the tests hand leaf-import's output to, from Debian's packages:
# promtool and the Pushgateway (metrics), Gnumeric's ssconvert (a spreadsheet, for the CSVs),
# Chromium (headless, for the HTML pages).
# kubectl is not installed: Debian's kubernetes-client (1.20) embeds a kustomize too old for
# deploy/kubernetes, so its test runs only where a newer kubectl is. Run by `make test`; as root on CI
# (apt-get works), elsewhere it installs what it can and says what it could not: the tests that
# need a missing program skip with a message naming it.
set -uo pipefail

need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || command -v pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v ssconvert >/dev/null || need+=(gnumeric)
command -v chromium >/dev/null || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
  echo "test-tools: not root and no sudo: cannot install ${need[*]}; the tests that need them will skip" >&2
  exit 0
fi
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
echo "test-tools: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
if ! run apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/leaf-import-apt.log 2>&1; then
  run apt-get update -q >>/tmp/leaf-import-apt.log 2>&1
  run apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/leaf-import-apt.log 2>&1 ||
    echo "test-tools: apt-get could not install ${need[*]} (see /tmp/leaf-import-apt.log); the tests that need them will skip" >&2
fi
exit 0
