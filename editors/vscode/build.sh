#!/usr/bin/env bash
# Builds the lfcode VS Code extension from a clean copy: install, compile, unit-test, package.
# Needs node >= 20 and npm; reaches only the npm registry (for `npm ci`).
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund
npm run compile
npm test
rm -f lfcode.vsix
npx --no-install @vscode/vsce package --out lfcode.vsix </dev/null

if [[ ! -s lfcode.vsix ]]; then
  echo "build.sh: lfcode.vsix was not produced" >&2
  exit 1
fi
echo "build.sh: lfcode.vsix $(wc -c <lfcode.vsix) bytes"
