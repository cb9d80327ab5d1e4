function Get-HvrHostName
{
    <#
    .SYNOPSIS
        Lists the hosts a cmdlet acts on: the names of -ComputerName, or '' (this host) when there are none.
    .DESCRIPTION
        The one place of the rule that no -ComputerName means this host. Every name is written as a
        string, so a missing name is '' rather than $null.
    .PARAMETER ComputerName
        The cmdlet's -ComputerName.
    .EXAMPLE
        foreach ($computer in (Get-HvrHostName -ComputerName $ComputerName)) { }
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param
    (
        [Parameter()]
        [AllowEmptyCollection()]
        [AllowNull()]
        [string[]]
        $ComputerName
    )

    $hosts = @($ComputerName)
    if ($hosts.Count -eq 0) { $hosts = @('') }
    foreach ($computer in $hosts)
    {
        [string]$computer
    }
}
