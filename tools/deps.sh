#!/usr/bin/env bash
# deps.sh - installs what building and testing tdc need on Debian 12, as root.
#
# Idempotent and quick on a prepared machine: apt-get runs only when a
# command or package is missing, pip only when numpy, einops, ml_dtypes,
# matplotlib (for tools/plot_metrics.py) or safetensors (the reference
# reader checkpoints are tested against) does not import.
set -euo pipefail

missing=()
need_cmd() { # need_cmd COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need_pkg() { # need_pkg PACKAGE
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1")
}

need_cmd cmake cmake
need_cmd gcc gcc
need_cmd make make
need_cmd re2c re2c
need_cmd lemon lemon
need_cmd python3 python3
need_cmd clang clang
need_cmd valgrind valgrind
# pip may be absent when python3 comes from elsewhere (pyenv, venv); only
# ask apt for it when python3 itself has no pip.
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# lempar.c (Lemon's template) and libFuzzer/sanitizer runtimes are files,
# not commands.
[ -f /usr/share/lemon/lempar.c ] || missing+=(lemon)
command -v dpkg-query >/dev/null 2>&1 && need_pkg libclang-rt-14-dev
command -v dpkg-query >/dev/null 2>&1 && need_pkg libopenblas-dev

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: not root; run as root or install: ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y cmake gcc make re2c lemon python3 python3-pip clang libclang-rt-14-dev libopenblas-dev
else
    echo "deps: system packages present"
fi

if python3 -c 'import numpy, einops, ml_dtypes, matplotlib, safetensors' >/dev/null 2>&1; then
    echo "deps: numpy, einops, ml_dtypes, matplotlib and safetensors present"
else
    echo "deps: installing numpy einops ml_dtypes matplotlib safetensors with pip"
    python3 -m pip install --quiet --break-system-packages numpy einops ml_dtypes matplotlib safetensors ||
        python3 -m pip install --quiet numpy einops ml_dtypes matplotlib safetensors
    python3 -c 'import numpy, einops, ml_dtypes, matplotlib, safetensors'
fi
