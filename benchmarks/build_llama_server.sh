#!/usr/bin/env bash
# Builds (once) llama.cpp's `llama-server` from the llama.cpp sources vendored in the
# llama-cpp-python sdist, so benchmarks/latency.py can compare lfcode with llama-server on the
# same llama.cpp the project links against, and so that the llama-server backend's tests
# (tests/llama_server_helpers.py, run by .ci/run) have a real server. CPU only, Release, only the llama-server target,
# statically linked against libllama/libggml, no curl, no OpenSSL, no web UI (nothing is fetched
# at build time).
#
# The binary is cached in ${LFCODE_CACHE:-$HOME/.cache/lfcode-ci}/llama-server-<version>-x86-64-v3/; when it
# is there already this script does nothing. Prints only the binary's path on stdout; progress
# goes to stderr. Reaches only PyPI (for the sdist). The first build takes about 12 minutes on two
# cores.
#
#   LLAMA_CPP_PYTHON_VERSION  sdist version (default: the version installed for $PYTHON, else 0.3.36)
#   PYTHON                    interpreter whose pip downloads the sdist (default: python3)
#   JOBS                      parallel build jobs (default: 2)
set -euo pipefail
exec 3>&1 1>&2

PYTHON="${PYTHON:-python3}"
if [ -z "${LLAMA_CPP_PYTHON_VERSION:-}" ]; then
  LLAMA_CPP_PYTHON_VERSION="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))' 2>/dev/null || echo 0.3.36)"
fi
VERSION="$LLAMA_CPP_PYTHON_VERSION"
CACHE="${LFCODE_CACHE:-$HOME/.cache/lfcode-ci}"
# x86-64-v3 rather than -march=native: llama.cpp's AMX kernels crash on Q4_K models on CPUs with
# AMX (see install.sh); the folder name says so, so a native build cached earlier is not reused.
DEST="$CACHE/llama-server-$VERSION-x86-64-v3"
BIN="$DEST/llama-server"

if [ -x "$BIN" ]; then
  echo "$BIN" >&3
  exit 0
fi

command -v cmake >/dev/null || { echo "build_llama_server: cmake not found (pip install cmake)"; exit 1; }
command -v c++ >/dev/null || command -v g++ >/dev/null || { echo "build_llama_server: no C++ compiler"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "build_llama_server: downloading the llama-cpp-python $VERSION sdist"
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
  "llama-cpp-python==$VERSION" -d "$WORK"
tar -xzf "$WORK"/llama_cpp_python-"$VERSION".tar.gz -C "$WORK"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
[ -f "$SRC/CMakeLists.txt" ] || { echo "build_llama_server: no vendor/llama.cpp in the sdist"; exit 1; }

started=$(date +%s)
echo "build_llama_server: configuring $SRC"
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF >"$WORK/configure.log" 2>&1 \
  || { tail -40 "$WORK/configure.log"; exit 1; }
echo "build_llama_server: building llama-server (-j${JOBS:-2})"
cmake --build "$WORK/build" --config Release --target llama-server -j "${JOBS:-2}" >"$WORK/build.log" 2>&1 \
  || { tail -60 "$WORK/build.log"; exit 1; }

mkdir -p "$DEST"
cp "$WORK/build/bin/llama-server" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "build_llama_server: built in $(( $(date +%s) - started )) s"
echo "$BIN" >&3
