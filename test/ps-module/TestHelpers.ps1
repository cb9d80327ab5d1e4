# Shared by every HvReplica Pester suite: dot-source it in BeforeAll.
$script:HvrRepositoryRoot = (Resolve-Path -Path (Join-Path -Path $PSScriptRoot -ChildPath '../..')).Path
$script:HvrManifestPath = Join-Path -Path $script:HvrRepositoryRoot -ChildPath 'ps-module/HvReplica/HvReplica.psd1'
$script:HvrFixturePath = Join-Path -Path $PSScriptRoot -ChildPath 'Fixtures'

# One helper per file in Helpers/, all loaded here.
foreach ($helper in @(Get-ChildItem -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers') -Filter '*.ps1'))
{
    . $helper.FullName
}
