function Assert-HvrIntegrationPrerequisite
{
    # The integration suites run the real CLI: they fail (never skip) when it cannot run. Checks the
    # compiled CLI (dist/, from 'npx tsc -p .'), node, and the native addon the VHDX code needs, by
    # running 'hvreplica host info'.
    $main = Join-Path -Path $script:HvrRepositoryRoot -ChildPath 'dist/src/cli/main.js'
    if (-not (Test-Path -LiteralPath $main))
    {
        throw "The CLI is not compiled ($main is missing): run 'npx tsc -p .' (npm test does) before the integration suites."
    }
    $node = Get-Command -Name 'node' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -eq $node)
    {
        throw 'node is not on PATH: the integration suites run the hvreplica CLI with it.'
    }
    $info = Invoke-HvrTestCli -Argument 'host', 'info' -StateDir ([System.IO.Path]::GetTempPath())
    if ([string]::IsNullOrEmpty($info.addonVersion))
    {
        throw "'hvreplica host info' reports no native addon: build it (npm run build:native) before the integration suites."
    }
}
