#!/usr/bin/env bash
# Checks `pip install ./python` as a user would run it: a fresh virtual
# environment, the package built and installed by pip (scikit-build-core,
# with build isolation), then the README's Python quickstart run from an
# empty directory against the installed module (not the build tree).
# Needs the apt packages of scripts/setup.sh. It compiles the project a
# second time (in a temporary build directory), so it is not part of
# scripts/test.sh; run it after changing python/ or the CMake set-up.
#   bash scripts/check-pip-install.sh [work-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q numpy onnx
"$WORK/venv/bin/pip" install -v ./python -C build-dir="$WORK/build" \
  > "$WORK/pip.log" 2>&1 || { tail -40 "$WORK/pip.log"; exit 1; }
mkdir -p "$WORK/run"
cd "$WORK/run"
# A model.onnx for the quickstart: the zoo's hybrid model.
PYTHONPATH="$ROOT/examples" "$WORK/venv/bin/python" -c \
  'import onnx, zoo; onnx.save(zoo.build("hybrid", seed=0), "model.onnx")'
python3 - "$ROOT/README.md" > quickstart.py <<'PY'
import sys
text = open(sys.argv[1]).read().split("## Python", 1)[1]
print(text.split("```python", 1)[1].split("```", 1)[0])
print("print('module', ssmc.__file__)")
print("print('logits', logits.shape, 'tokens', tokens.shape)")
PY
env -u PYTHONPATH "$WORK/venv/bin/python" quickstart.py | tee out.txt
grep -q "$WORK/venv/lib/python3" out.txt
echo "pip install ./python: OK ($WORK)"
