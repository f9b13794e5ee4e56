#!/usr/bin/env bash
# Sets up, builds and runs every test: lit (FileCheck tests of ops and
# passes) and pytest (executed numerical tests, fuzzing of ssm-opt, docs).
# The last line is the summary: "summary: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh || exit 1
bash scripts/build.sh || exit 1
BUILD_DIR=${SSM_BUILD_DIR:-build}
export SSM_BUILD_DIR="$PWD/$BUILD_DIR"
mkdir -p "$BUILD_DIR/results"

.venv/bin/lit -sv "$BUILD_DIR/test" --xunit-xml-output "$BUILD_DIR/results/lit.xml"
lit_rc=$?
# Two workers (pytest-xdist; one per core on the 2-core CI machine): the
# slowest tests (the MQAR teacher, the pip install) then overlap the rest.
.venv/bin/python -m pytest -q -n "${SSM_TEST_WORKERS:-auto}" test/python \
  --junitxml="$BUILD_DIR/results/pytest.xml"
py_rc=$?

results=("$BUILD_DIR/results/lit.xml" "$BUILD_DIR/results/pytest.xml")
.venv/bin/python scripts/summarize.py "${results[@]}"
sum_rc=$?
echo "test.sh: $(( $(date +%s) - start )) s"
.venv/bin/python scripts/summarize.py --last-line "${results[@]}"
if [ $lit_rc -ne 0 ] || [ $py_rc -ne 0 ] || [ $sum_rc -ne 0 ]; then
  exit 1
fi
