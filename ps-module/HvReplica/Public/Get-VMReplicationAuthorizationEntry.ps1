function Get-VMReplicationAuthorizationEntry
{
    <#
    .SYNOPSIS
        Gets the authorization entries of a replica server.
    .DESCRIPTION
        As Hyper-V's Get-VMReplicationAuthorizationEntry: lists the primaries allowed to replicate here,
        with their storage locations and trust groups. Calls 'hvreplica auth list' (docs/cli-contract.md 3.11).
    .PARAMETER AllowedPrimaryServer
        Only the entry of this primary server.
    .PARAMETER ReplicaStorageLocation
        Only entries with this storage location.
    .PARAMETER TrustGroup
        Only entries of this trust group.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .EXAMPLE
        Get-HvrVMReplicationAuthorizationEntry

        Lists every entry of this replica server.
    .EXAMPLE
        Get-HvrVMReplicationAuthorizationEntry -TrustGroup contoso

        Lists the entries of the contoso trust group.
    .INPUTS
        System.String (the primary server).
    .OUTPUTS
        HvReplica.VMReplicationAuthorizationEntry
    .LINK
        about_HvReplica
    #>
    [CmdletBinding()]
    [OutputType('HvReplica.VMReplicationAuthorizationEntry')]
    param
    (
        [Parameter(Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [Alias('AllowedPS')]
        [ValidateNotNullOrEmpty()]
        [string]
        $AllowedPrimaryServer,

        [Parameter()]
        [Alias('StorageLoc')]
        [ValidateNotNullOrEmpty()]
        [string]
        $ReplicaStorageLocation,

        [Parameter()]
        [ValidateNotNullOrEmpty()]
        [string]
        $TrustGroup,

        [Parameter()]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty
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
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('AllowedPrimaryServer', 'ReplicaStorageLocation', 'TrustGroup')
            Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'auth', 'list' -Option $option -ComputerName $ComputerName `
                -Credential $Credential -TypeName 'HvReplica.VMReplicationAuthorizationEntry' `
                -Target 'authorization entries' -Output:$true
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
