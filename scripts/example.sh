#!/usr/bin/env bash
# The main job: set up, build, then compile the bundled example hybrid model
# (ONNX, generated deterministically) with ssmc, run it with ssm-run and check
# it against onnxruntime; then the dialect-level example (a per-head hybrid
# mixing layer in both mixer forms against NumPy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
export SSM_BUILD_DIR="$PWD/${SSM_BUILD_DIR:-build}"
echo "== ONNX hybrid model: ssmc + ssm-run =="
.venv/bin/python examples/onnx_hybrid.py "$@"
echo "== ssm dialect: per-head hybrid mixing layer =="
.venv/bin/python examples/hybrid_layer.py
