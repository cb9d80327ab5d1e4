function ConvertTo-HvrKebabCase
{
    <#
    .SYNOPSIS
        Turns a Hyper-V parameter name into the CLI option name.
    .DESCRIPTION
        docs/cli-contract.md section 1.2: words split at case changes, a run of capitals (VM, VSS) stays one
        word. VMName -> vm-name, VSSSnapshotFrequencyHour -> vss-snapshot-frequency-hour.
    .PARAMETER Name
        The PowerShell parameter name.
    .EXAMPLE
        ConvertTo-HvrKebabCase -Name ReplicationFrequencySec
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param
    (
        [Parameter(Mandatory)]
        [string]
        $Name
    )

    $split = [regex]::Replace($Name, '(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '-')
    $split.ToLowerInvariant()
}
