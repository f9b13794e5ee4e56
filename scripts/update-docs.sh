#!/usr/bin/env bash
# Regenerates the ODS-generated docs (ninja ssm-doc) and copies them into
# docs/generated/. test/python/test_docs.py fails when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SSM_BUILD_DIR:-build}
ninja -C "$BUILD_DIR" ssm-doc
mkdir -p docs/generated
cp "$BUILD_DIR"/docs/*.md docs/generated/
ls docs/generated
