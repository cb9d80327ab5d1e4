function Invoke-HvrRefusedCycle
{
    # A primary's next cycle of vm1 after its replica removed the relationship: writes into the VM, runs one
    # cycle through the real CLI, checks it was refused as removed (ERR_REPLICATION_REMOVED, exit 4) and returns
    # the refusal's message and the relationship as Get-HvrVMReplication then shows it on that primary.
    param
    (
        [Parameter(Mandatory)] [string] $StateDir,
        [Parameter(Mandatory)] [int] $Seed,
        [string] $Bytes = '1MiB'
    )
    $null = Invoke-HvrTestCli -StateDir $StateDir -Argument 'workload', '--vm=vm1', "--seed=$Seed", "--bytes=$Bytes"
    $refused = Invoke-HvrTestCli -StateDir $StateDir -Argument 'replicate', '--vm=vm1' -AllowFailure
    $refused.exitCode | Should -Be 4
    $refused.error.code | Should -Be 'ERR_REPLICATION_REMOVED'
    [pscustomobject]@{
        Message = $refused.error.message
        Relationship = Invoke-HvrOnHost -StateDir $StateDir { Get-HvrVMReplication -VMName 'vm1' }
    }
}
