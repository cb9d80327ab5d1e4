function Measure-VMReplication
{
    <#
    .SYNOPSIS
        Gets replication statistics and health of virtual machines.
    .DESCRIPTION
        Reports the health of each relationship and the statistics of the current monitoring interval
        (average and maximum size and latency, errors, successful and missed cycles, pending size, i.e.
        data at risk), as Hyper-V's Measure-VMReplication does; ReplicationHealthDetails says why a health
        is not Normal. Calls 'hvreplica replication measure' (docs/cli-contract.md 3.4).
    .PARAMETER VMName
        Name of the VM (wildcards allowed); none lists every relationship on the host. Accepts
        pipeline input by value and by property name (VMName or Name).
    .PARAMETER VM
        VM objects (Hyper-V's from Get-VM, or HvReplica.VirtualMachine).
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host. Bound by property name, so
        objects from another host are acted on there.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER ReplicaServerName
        Only relationships to this replica server.
    .PARAMETER PrimaryServerName
        Only relationships from this primary server.
    .PARAMETER ReplicationState
        Only relationships in this state.
    .PARAMETER ReplicationHealth
        Only relationships with this health.
    .PARAMETER ReplicationMode
        Only VMs in this mode (Primary, Replica, ExtendedReplica, TestReplica).
    .PARAMETER ReplicationRelationshipType
        Simple or Extended; without it both relationships of a VM are listed.
    .PARAMETER TrustGroup
        Only replica VMs whose authorization entry has this trust group.
    .EXAMPLE
        Measure-HvrVMReplication

        Shows the health of every relationship on this host.
    .EXAMPLE
        Measure-HvrVMReplication -VMName web1 | Format-List *

        Shows every statistic of web1.
    .EXAMPLE
        Measure-HvrVMReplication | Where-Object Health -ne Normal | Select-Object VMName, Health, ReplicationHealthDetails

        Explains every relationship whose health is not Normal.
    .INPUTS
        System.String, objects with a VMName or Name property.
    .OUTPUTS
        HvReplica.VMReplicationHealth
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    [OutputType('HvReplica.VMReplicationHealth')]
    param
    (
        [Parameter(ParameterSetName = 'VMName', Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [Alias('Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $VMName,

        [Parameter(ParameterSetName = 'VMObject', Mandatory = $true, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [psobject[]]
        $VM,

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter(ParameterSetName = 'VMName')]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter(ParameterSetName = 'VMName')]
        [Alias('ReplicaServer')]
        [ValidateNotNullOrEmpty()]
        [string]
        $ReplicaServerName,

        [Parameter(ParameterSetName = 'VMName')]
        [Alias('PrimaryServer')]
        [ValidateNotNullOrEmpty()]
        [string]
        $PrimaryServerName,

        [Parameter(ParameterSetName = 'VMName')]
        [Alias('State')]
        [HvReplica.VMReplicationState]
        $ReplicationState,

        [Parameter(ParameterSetName = 'VMName')]
        [Alias('Health')]
        [HvReplica.VMReplicationHealthState]
        $ReplicationHealth,

        [Parameter(ParameterSetName = 'VMName')]
        [Alias('Mode')]
        [HvReplica.VMReplicationMode]
        $ReplicationMode,

        [Parameter()]
        [Alias('Relationship')]
        [HvReplica.VMReplicationRelationshipType]
        $ReplicationRelationshipType,

        [Parameter(ParameterSetName = 'VMName')]
        [ValidateNotNullOrEmpty()]
        [string]
        $TrustGroup
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
            Invoke-HvrReplicationQuery -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Verb 'measure' -TypeName 'HvReplica.VMReplicationHealth' `
                -VMName $VMName -VM $VM -ComputerName $ComputerName -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
