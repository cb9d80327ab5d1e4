function Get-HvrAuthorizationEntryTarget
{
    <#
    .SYNOPSIS
        Lists the authorization entries an entry cmdlet acts on, with the CLI option that selects each.
    .DESCRIPTION
        Set- and Remove-VMReplicationAuthorizationEntry name their entries either as objects (each carries
        its host) or as an allowed primary server (Remove also: a trust group) on the hosts of
        -ComputerName. Each result has Option (the selecting CLI option), Name (what ShouldProcess and
        error records name) and ComputerName.
    .PARAMETER Entry
        HvReplica.VMReplicationAuthorizationEntry objects; given, the other parameters are not used.
    .PARAMETER AllowedPrimaryServer
        The allowed primary server of the entry.
    .PARAMETER TrustGroup
        A trust group, selecting every entry of that group (when no AllowedPrimaryServer is given).
    .PARAMETER ComputerName
        Hosts for -AllowedPrimaryServer/-TrustGroup; none means this host.
    .EXAMPLE
        Get-HvrAuthorizationEntryTarget -AllowedPrimaryServer hv1.contoso.com -ComputerName hv2, hv3
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter()]
        [psobject[]]
        $Entry,

        [Parameter()]
        [string]
        $AllowedPrimaryServer,

        [Parameter()]
        [string]
        $TrustGroup,

        [Parameter()]
        [string[]]
        $ComputerName
    )

    if ($null -ne $Entry)
    {
        foreach ($item in $Entry)
        {
            [pscustomobject]@{
                Option       = '--allowed-primary-server=' + $item.AllowedPrimaryServer
                Name         = [string]$item.AllowedPrimaryServer
                ComputerName = [string]$item.ComputerName
            }
        }
        return
    }
    $option = '--allowed-primary-server=' + $AllowedPrimaryServer
    $name = $AllowedPrimaryServer
    if ([string]::IsNullOrEmpty($AllowedPrimaryServer) -and -not [string]::IsNullOrEmpty($TrustGroup))
    {
        $option = '--trust-group=' + $TrustGroup
        $name = 'trust group ' + $TrustGroup
    }
    foreach ($computer in (Get-HvrHostName -ComputerName $ComputerName))
    {
        [pscustomobject]@{ Option = $option; Name = $name; ComputerName = $computer }
    }
}
