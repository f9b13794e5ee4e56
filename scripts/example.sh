#!/usr/bin/env bash
# The main job: set up, build, then compile and run the bundled example (a
# per-head hybrid mixing layer) in both mixer forms against NumPy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
SSM_BUILD_DIR="$PWD/${SSM_BUILD_DIR:-build}" .venv/bin/python examples/hybrid_layer.py "$@"
