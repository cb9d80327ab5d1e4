function Get-HvrFixture
{
    # A CLI result object as docs/cli-contract.md section 2 defines it, parsed the way Invoke-HvrCli parses it.
    param ([Parameter(Mandatory)] [string] $Name)
    Get-Content -Raw -Path (Join-Path -Path $script:HvrFixturePath -ChildPath "$Name.json") | ConvertFrom-Json
}
