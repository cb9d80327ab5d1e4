function Set-VMReplicationAuthorizationEntry
{
    <#
    .SYNOPSIS
        Changes an authorization entry of a replica server.
    .DESCRIPTION
        As Hyper-V's Set-VMReplicationAuthorizationEntry: changes the storage location or trust group of
        the entry of a primary server; replicas that exist stay where they are. Calls 'hvreplica auth set'
        (docs/cli-contract.md 3.11).
    .PARAMETER AllowedPrimaryServer
        The primary server whose entry changes.
    .PARAMETER VMReplicationAuthorizationEntry
        Entries from Get-HvrVMReplicationAuthorizationEntry.
    .PARAMETER ReplicaStorageLocation
        New storage location; only new replicas use it.
    .PARAMETER TrustGroup
        New trust group.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER Passthru
        Write the changed entries.
    .EXAMPLE
        Set-HvrVMReplicationAuthorizationEntry -AllowedPrimaryServer hv1.contoso.com -ReplicaStorageLocation E:\Replica\hv1

        New replicas from hv1 go to E:\Replica\hv1.
    .EXAMPLE
        Get-HvrVMReplicationAuthorizationEntry -TrustGroup old | Set-HvrVMReplicationAuthorizationEntry -TrustGroup new -Passthru

        Moves every entry of trust group old to new.
    .INPUTS
        HvReplica.VMReplicationAuthorizationEntry, System.String (by property name).
    .OUTPUTS
        None, or HvReplica.VMReplicationAuthorizationEntry with -Passthru.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'Name', SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.VMReplicationAuthorizationEntry')]
    param
    (
        [Parameter(ParameterSetName = 'Name', Mandatory = $true, Position = 0, ValueFromPipelineByPropertyName = $true)]
        [Alias('AllowedPS')]
        [ValidateNotNullOrEmpty()]
        [string]
        $AllowedPrimaryServer,

        [Parameter(ParameterSetName = 'Object', Mandatory = $true, Position = 0, ValueFromPipeline = $true)]
        [Alias('VMRepAuthEntry')]
        [PSTypeName('HvReplica.VMReplicationAuthorizationEntry')]
        [psobject[]]
        $VMReplicationAuthorizationEntry,

        [Parameter(Position = 1)]
        [Alias('StorageLoc')]
        [ValidateNotNullOrEmpty()]
        [string]
        $ReplicaStorageLocation,

        [Parameter(Position = 2)]
        [ValidateNotNullOrEmpty()]
        [string]
        $TrustGroup,

        [Parameter(ParameterSetName = 'Name')]
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

    begin
    {
        # Values bound by property name must not carry over to the next pipeline object (Reset-HvrPipelineParameter).
        $commandLineParameter = @($PSBoundParameters.Keys)
    }

    process
    {
        try
        {
            $targets = Get-HvrAuthorizationEntryTarget -Entry $VMReplicationAuthorizationEntry -AllowedPrimaryServer $AllowedPrimaryServer `
                -ComputerName $ComputerName
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('ReplicaStorageLocation', 'TrustGroup')
            foreach ($target in $targets)
            {
                Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'auth', 'set' -Option (@($target.Option) + $option) `
                    -ComputerName $target.ComputerName -Credential $Credential -TypeName 'HvReplica.VMReplicationAuthorizationEntry' `
                    -Target $target.Name -Action 'Change replication authorization entry' -Output:$Passthru
            }
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
