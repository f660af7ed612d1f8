#!/bin/sh
# Installs lfcode into ./.venv, and bubblewrap, the OS sandbox that everything lfcode executes
# (generated tests, project code) runs in. Without bubblewrap lfcode still completes, explains
# and reviews, but runs nothing: generated tests come back marked "not run".
set -e
cd "$(dirname "$0")"

if command -v bwrap >/dev/null 2>&1; then
    echo "install.sh: sandbox: $(command -v bwrap) is there"
elif command -v apt-get >/dev/null 2>&1; then
    echo "install.sh: installing bubblewrap with apt-get (the sandbox lfcode runs generated tests in)"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get install -y bubblewrap >/dev/null 2>&1 || { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y bubblewrap >/dev/null; } \
        || echo "install.sh: could not install bubblewrap; lfcode will run no generated test until you run: sudo apt-get install bubblewrap" >&2
else
    echo "install.sh: bubblewrap not found; install it with your package manager (dnf install bubblewrap, pacman -S bubblewrap, ...)." >&2
    echo "install.sh: until then lfcode runs no generated test (they are shown marked \"not run\")." >&2
fi

# llama-cpp-python compiles llama.cpp for this CPU. Built with -march=native on a CPU with Intel
# AMX (Xeon Sapphire Rapids and later) llama.cpp 0.3.36's AMX kernels crash on Q4_K models such as
# the embedded one (seen: SIGSEGV in ggml_backend_amx_mul_mat), so lfcode builds for x86-64-v3
# (AVX2, FMA, F16C) instead of native; other architectures ignore these options. A CMAKE_ARGS of
# your own wins.
: "${CMAKE_ARGS:=-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON}"
export CMAKE_ARGS

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
echo "install.sh: installing lfcode into .venv (llama-cpp-python compiles the first time: a few minutes)"
.venv/bin/python -m pip install --quiet .
echo "install.sh: done; activate with: . .venv/bin/activate"
