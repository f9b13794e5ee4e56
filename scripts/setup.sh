#!/usr/bin/env bash
# Installs everything SSMC needs on a fresh Debian 12 machine: the apt
# packages (LLVM/MLIR 22, build tools, ONNX/protobuf, the Vulkan headers and
# loader, Mesa's lavapipe software Vulkan driver and SPIRV-Tools for the Vulkan
# target and its tests) and a Python virtual
# environment in .venv with the test packages. Idempotent, and quick when
# everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build ccache gcc g++ git python3 python3-venv python3-pip python3-dev
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  libonnx-dev libprotobuf-dev protobuf-compiler
  libvulkan-dev libvulkan1 mesa-vulkan-drivers spirv-tools
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python packages for the tests, in a virtual environment (Debian's system
# Python refuses pip installs).
REQS=scripts/requirements.txt
STAMP=.venv/.requirements.sha
want=$(sha256sum "$REQS" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with $(tr '\n' ' ' < "$REQS")"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$REQS"
  echo "$want" > "$STAMP"
fi
echo "setup: ok"
