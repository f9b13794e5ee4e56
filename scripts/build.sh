#!/usr/bin/env bash
# Configures (once) and builds SSMC in build/ with Ninja, against Debian's
# LLVM/MLIR 22 (shared libMLIR.so), using ccache when present.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SSM_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DPython_EXECUTABLE="$PWD/.venv/bin/python"
fi
ninja -C "$BUILD_DIR" -j"${SSM_JOBS:-$(nproc)}"
