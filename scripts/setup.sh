#!/usr/bin/env bash
# Sets up a Debian machine to build and test hvreplica, offline apart from Debian's packages, the npm
# registry and NuGet: system packages, PowerShell 7 and Pester, npm dependencies, then every build
# (Linux addon with cmake-js, the binding.gyp fallback, the Windows x64 cross-build, TypeScript).
# Idempotent; run as root (or with sudo available) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export npm_config_nodedir="${npm_config_nodedir:-/usr}"   # node-gyp finds the headers without a download
export DEBIAN_FRONTEND=noninteractive

packages=(cmake ninja-build g++ make python3 mingw-w64 wine wine64 qemu-utils libvhdi-utils python3-libvhdi
          rsync xxhash libxxhash-dev zstd clang libclang-rt-14-dev openssl time)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

pwsh="$HOME/.dotnet/tools/pwsh"
if [[ ! -x $pwsh ]]; then
  echo "setup: installing PowerShell 7 as a .NET global tool"
  dotnet tool install --global PowerShell --version 7.6.9 >/dev/null
fi
bash scripts/install-pester.sh

echo "setup: npm dependencies"
npm ci --ignore-scripts --no-audit --no-fund >/dev/null

echo "setup: building"
npm run --silent build:native
npm run --silent build:gyp >/dev/null
npm run --silent build:win
npm run --silent build:ts
echo "setup: done"
