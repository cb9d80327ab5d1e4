<#
.SYNOPSIS
    Runs every Pester suite of the PowerShell module (test/ps-module) and prints one closing line.
.DESCRIPTION
    Loads Pester 5 from the folder scripts/install-pester.sh fills (.tmp/ps-modules), else from
    PSModulePath; fails with what to run when there is none. Exits non-zero when a test, a block or a
    whole file failed, or when no test ran, and ends with the line 'Pester: N passed, N failed' alone,
    which CI reads. A failed block or file (say, a syntax error in a test file) counts as one failure,
    so that it cannot hide behind a green count.
.PARAMETER Path
    Test files or folders; default test/ps-module.
.PARAMETER ModulesPath
    Where install-pester.sh put Pester; default .tmp/ps-modules under the repository.
.EXAMPLE
    pwsh -NoProfile -File scripts/run-pester.ps1
#>
[CmdletBinding()]
param
(
    [Parameter()]
    [string[]]
    $Path,

    [Parameter()]
    [string]
    $ModulesPath
)

$ErrorActionPreference = 'Stop'
$repository = Split-Path -Path $PSScriptRoot -Parent
if (-not $Path) { $Path = @(Join-Path -Path $repository -ChildPath 'test/ps-module') }
# pwsh -File passes "a,b" as one string; accept it as a list.
$Path = @($Path | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
if (-not $ModulesPath) { $ModulesPath = Join-Path -Path $repository -ChildPath '.tmp/ps-modules' }

$candidates = @()
if (Test-Path -LiteralPath (Join-Path -Path $ModulesPath -ChildPath 'Pester'))
{
    $candidates += Get-ChildItem -Path (Join-Path -Path $ModulesPath -ChildPath 'Pester') -Directory |
        Where-Object { Test-Path -LiteralPath (Join-Path -Path $_.FullName -ChildPath 'Pester.psd1') } |
        ForEach-Object { [pscustomobject]@{ Version = [version]$_.Name; Manifest = (Join-Path -Path $_.FullName -ChildPath 'Pester.psd1') } }
}
$candidates += Get-Module -Name Pester -ListAvailable | ForEach-Object { [pscustomobject]@{ Version = $_.Version; Manifest = $_.Path } }
$pester = $candidates | Where-Object { $_.Version.Major -eq 5 } | Sort-Object -Property Version -Descending | Select-Object -First 1
if ($null -eq $pester)
{
    Write-Host 'Pester 5 is not installed: run scripts/install-pester.sh first.'
    Write-Host 'Pester: 0 passed, 1 failed'
    exit 1
}
Import-Module -Name $pester.Manifest -Force
Write-Host ('Using Pester {0} from {1}' -f $pester.Version, $pester.Manifest)

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputPath = Join-Path -Path $repository -ChildPath '.tmp/pester-results.xml'
$configuration.TestResult.OutputFormat = 'NUnitXml'

try
{
    $result = Invoke-Pester -Configuration $configuration
}
catch
{
    Write-Host ('Pester could not run: {0}' -f $_)
    Write-Host ''
    Write-Host 'Pester: 0 passed, 1 failed'
    exit 1
}

$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
if ($result.SkippedCount -gt 0 -or $result.NotRunCount -gt 0)
{
    Write-Host ('Not run: {0} skipped, {1} not run (a test never skips silently; see above).' -f $result.SkippedCount, $result.NotRunCount)
    $failed += $result.SkippedCount + $result.NotRunCount
}
Write-Host ''
Write-Host ('Pester: {0} passed, {1} failed' -f $result.PassedCount, $failed)
if ($failed -gt 0 -or $result.PassedCount -eq 0) { exit 1 }
exit 0
