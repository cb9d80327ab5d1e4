function Remove-VMReplicationAuthorizationEntry
{
    <#
    .SYNOPSIS
        Removes authorization entries of a replica server.
    .DESCRIPTION
        As Hyper-V's Remove-VMReplicationAuthorizationEntry: removes the entry of a primary server, every
        entry of a trust group, or the entries piped in; those primaries can no longer replicate here.
        Calls 'hvreplica auth remove' (docs/cli-contract.md 3.11).
    .PARAMETER AllowedPrimaryServer
        The primary server whose entry goes.
    .PARAMETER TrustGroup
        Remove every entry of this trust group.
    .PARAMETER VMReplicationAuthorizationEntry
        Entries from Get-HvrVMReplicationAuthorizationEntry.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER Passthru
        Write the removed entries.
    .EXAMPLE
        Remove-HvrVMReplicationAuthorizationEntry -AllowedPrimaryServer hv1.contoso.com

        Removes the entry of hv1.
    .EXAMPLE
        Remove-HvrVMReplicationAuthorizationEntry -TrustGroup fabrikam -Confirm:$false

        Removes every entry of the fabrikam trust group without asking.
    .EXAMPLE
        Get-HvrVMReplicationAuthorizationEntry | Where-Object AllowedPS -like '*.old.com' | Remove-HvrVMReplicationAuthorizationEntry

        Removes the entries of every host in old.com.
    .INPUTS
        HvReplica.VMReplicationAuthorizationEntry, System.String (by property name).
    .OUTPUTS
        None, or HvReplica.VMReplicationAuthorizationEntry with -Passthru.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'PrimaryServerName', SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.VMReplicationAuthorizationEntry')]
    param
    (
        [Parameter(ParameterSetName = 'PrimaryServerName', Mandatory = $true, Position = 0, ValueFromPipelineByPropertyName = $true)]
        [Alias('AllowedPS')]
        [ValidateNotNullOrEmpty()]
        [string]
        $AllowedPrimaryServer,

        [Parameter(ParameterSetName = 'TrustGroup', Mandatory = $true, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string]
        $TrustGroup,

        [Parameter(ParameterSetName = 'Object', Mandatory = $true, Position = 0, ValueFromPipeline = $true)]
        [Alias('VMRepAuthEntry')]
        [PSTypeName('HvReplica.VMReplicationAuthorizationEntry')]
        [psobject[]]
        $VMReplicationAuthorizationEntry,

        [Parameter(ParameterSetName = 'PrimaryServerName')]
        [Parameter(ParameterSetName = 'TrustGroup')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter()]
        [switch]
        $Passthru
    )

    process
    {
        $targets = Get-HvrAuthorizationEntryTarget -Entry $VMReplicationAuthorizationEntry -AllowedPrimaryServer $AllowedPrimaryServer `
            -TrustGroup $TrustGroup -ComputerName $ComputerName
        foreach ($target in $targets)
        {
            Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'auth', 'remove' -Option @($target.Option) `
                -ComputerName $target.ComputerName -Credential $Credential -TypeName 'HvReplica.VMReplicationAuthorizationEntry' `
                -Target $target.Name -Action 'Remove replication authorization entry' -Output:$Passthru
        }
    }
}
