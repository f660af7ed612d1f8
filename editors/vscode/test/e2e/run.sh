#!/usr/bin/env bash
# The real-editor suite: the packaged extension (lfcode.vsix, built by ../../build.sh) installed in
# code-server, driven by playwright-core in Debian's headless chromium, against the real
# `lfcode serve`. Installs and caches what it needs (setup.sh); nothing is written to the real
# home: every editor and XDG folder is inside a throw-away work folder.
#
#   editors/vscode/test/e2e/run.sh            # all checks (fake backend, then the embedded model)
#   LFCODE_E2E_SKIP_EMBEDDED=1 ... run.sh      # the fake-backend checks only
#
# Needs: the lfcode console script (on PATH, e.g. the activated .venv, or $LFCODE_BIN) and
# editors/vscode/lfcode.vsix. Keeps the work folder on failure ($LFCODE_E2E_WORK to choose it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vscode_dir="$(cd "$here/../.." && pwd)"

LFCODE_BIN="${LFCODE_BIN:-$(command -v lfcode || true)}"
if [ -z "$LFCODE_BIN" ] || [ ! -x "$LFCODE_BIN" ]; then
  echo "e2e: the lfcode console script was not found (activate the venv or set LFCODE_BIN)" >&2
  exit 1
fi
VSIX="${VSIX:-$vscode_dir/lfcode.vsix}"
if [ ! -s "$VSIX" ]; then
  echo "e2e: $VSIX is missing: run editors/vscode/build.sh first" >&2
  exit 1
fi

start=$(date +%s)
eval "$(bash "$here/setup.sh")"
setup_done=$(date +%s)
echo "e2e: setup (installs and caches) took $((setup_done - start)) s"

work="${LFCODE_E2E_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/lfcode-e2e.XXXXXX")}"
mkdir -p "$work"
export LFCODE_BIN VSIX CODE_SERVER PLAYWRIGHT_CORE_DIR
export LFCODE_E2E_WORK="$work"
export LFCODE_E2E_DOCS="${LFCODE_E2E_DOCS:-}"
set +e
node "$here/suite.mjs"
rc=$?
set -e
echo "e2e: suite took $(($(date +%s) - setup_done)) s (total $(($(date +%s) - start)) s)"
if [ "$rc" -eq 0 ] && [ -z "${LFCODE_E2E_KEEP:-}" ]; then
  rm -rf "$work"
else
  echo "e2e: work folder kept: $work"
fi
exit "$rc"
