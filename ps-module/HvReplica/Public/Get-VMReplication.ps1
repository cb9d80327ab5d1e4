function Get-VMReplication
{
    <#
    .SYNOPSIS
        Gets the replication settings of virtual machines.
    .DESCRIPTION
        Lists replication relationships with Hyper-V's properties (VMName, State, Health, Mode,
        FrequencySec, PrimaryServer, ReplicaServer, ReplicaPort, AuthType, Relationship...), as Hyper-V's
        Get-VMReplication does. Without a name it lists every relationship on the host; a replica that
        extends replication yields two objects unless -ReplicationRelationshipType picks one.
        Calls 'hvreplica replication get' (docs/cli-contract.md 3.3).
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
        Get-HvrVMReplication

        Lists every relationship on this host.
    .EXAMPLE
        Get-HvrVMReplication -VMName web* -ReplicationState Replicating

        Lists the replicating relationships of the VMs whose names start with web.
    .EXAMPLE
        Get-HvrVMReplication -ComputerName hv1, hv2 -ReplicationHealth Critical

        Lists the critical relationships of two hosts (through PowerShell remoting).
    .INPUTS
        System.String, objects with a VMName or Name property.
    .OUTPUTS
        HvReplica.VMReplication
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    [OutputType('HvReplica.VMReplication')]
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
            Invoke-HvrReplicationQuery -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Verb 'get' -TypeName 'HvReplica.VMReplication' `
                -VMName $VMName -VM $VM -ComputerName $ComputerName -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
