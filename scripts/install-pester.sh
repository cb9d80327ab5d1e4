#!/usr/bin/env bash
# Installs Pester 5 for the PowerShell module's tests (test/ps-module) into .tmp/ps-modules/ of the repo.
#
# Pester comes from NuGet through the .NET SDK's own restore, so it uses whatever NuGet sources and
# proxy the machine is configured with and needs nothing but `dotnet` (the PowerShell Gallery is not
# reachable here). A throwaway project with a PackageDownload item fetches the package without
# referencing it; the package's files are then copied to <dest>/Pester/<version>/ so that
# `Import-Module <dest>/Pester/<version>/Pester.psd1` (or PSModulePath=<dest>) finds it.
#
# Idempotent: does nothing when that version is already there.
# PSScriptAnalyzer is not served by the NuGet source here, so it is not installed (see
# test/ps-module/README.md).
#
# Usage: scripts/install-pester.sh [destination]   (default: <repo>/.tmp/ps-modules)
# Env:   PESTER_VERSION (default 5.7.1; must be 5.x)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo/.tmp/ps-modules}"
version="${PESTER_VERSION:-5.7.1}"

case "$version" in
  5.*) ;;
  *) echo "install-pester: PESTER_VERSION must be a 5.x version (the suites use Pester 5 syntax), got $version" >&2; exit 2 ;;
esac

target="$dest/Pester/$version"
if [ -f "$target/Pester.psd1" ]; then
  echo "install-pester: Pester $version already in $target"
  exit 0
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "install-pester: the .NET SDK (dotnet) is required to download Pester from NuGet" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The SDK version does not matter: no code is built, only the download runs.
tfm="net$(dotnet --version | cut -d. -f1).0"
cat >"$work/pester-download.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>$tfm</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="Pester" Version="[$version]" />
  </ItemGroup>
</Project>
XML

packages="$work/packages"
dotnet restore "$work/pester-download.csproj" --packages "$packages" --verbosity quiet

# NuGet lower-cases package folders; the module may sit at the package root or under tools/.
manifest="$(find "$packages/pester/$version" -name Pester.psd1 -print | head -n 1)"
if [ -z "$manifest" ]; then
  echo "install-pester: Pester.psd1 not found in the downloaded package (looked under $packages/pester/$version)" >&2
  exit 1
fi

mkdir -p "$dest/Pester"
rm -rf "$target.partial"
cp -R "$(dirname "$manifest")" "$target.partial"
mv "$target.partial" "$target"
echo "install-pester: Pester $version installed in $target"
