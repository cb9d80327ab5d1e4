function Remove-VMReplication
{
    <#
    .SYNOPSIS
        Removes the replication relationship of a virtual machine.
    .DESCRIPTION
        Deletes the relationship on this side, as Hyper-V's Remove-VMReplication does; run it on the
        primary and on the replica, each independently.

        On the replica server the VM is kept: every cycle the server acknowledged is applied, and the
        latest recovery point becomes an ordinary VM of the host (off, not a replica) on standalone disks
        under <state dir>/kept-replicas/<VMId>; the other recovery points and the replica storage are
        deleted. That VM can later be the existing copy of a new initial replication (initial import
        -UseBackup). A failed-over VM stays as it is. A failover waiting for completion, or a running test
        failover, is refused until it is completed, cancelled or stopped. A replica this host extends is
        refused until its extended relationship is removed (-ReplicationRelationshipType Extended, which
        removes only that one). From then on the replica server refuses the old primary's cycles with
        ERR_REPLICATION_REMOVED, saying to remove replication on the primary too and enable it again,
        which starts a new initial replication. An old primary made a replica after a failover
        (Set-HvrVMReplication -AsReplica) is removed the same way: its VM comes back at the last cycle it
        acknowledged, and the new primary is refused.

        On the primary the relationship goes with its replication position: enabling it again starts
        with a full copy. Calls 'hvreplica replication remove' (docs/cli-contract.md 3.5).
    .PARAMETER VMName
        Name of the VM (wildcards allowed). Accepts pipeline input by value and by property name
        (VMName, or Name where Hyper-V has that alias).
    .PARAMETER VM
        VM objects (Hyper-V's from Get-VM, or HvReplica.VirtualMachine).
    .PARAMETER VMReplication
        Relationships from Get-HvrVMReplication.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host. Bound by property name, so
        objects from another host are acted on there.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER ReplicationRelationshipType
        Simple (primary to replica, the default) or Extended (replica to extended replica). Bound by
        property name, so a piped relationship object acts on that relationship.
    .PARAMETER Passthru
        Write the HvReplica.VMReplication objects after the change.
    .EXAMPLE
        Remove-HvrVMReplication -VMName web1

        Removes replication of web1 on this host.
    .EXAMPLE
        Remove-HvrVMReplication -VMName web1 -ReplicationRelationshipType Extended

        On the replica: removes only the extended replication of web1.
    .EXAMPLE
        Remove-HvrVMReplication -VMName web1 -Passthru

        On the replica server: removes the replica's relationship and keeps web1 as an ordinary VM at its
        latest point; the primary's next cycle is refused until replication is removed there too.
    .EXAMPLE
        Get-HvrVMReplication -ReplicaServerName old.contoso.com | Remove-HvrVMReplication -Confirm:$false -Passthru

        Removes every relationship to an old replica server without asking and lists them.
    .INPUTS
        System.String, HvReplica.VMReplication, objects with a VMName property.
    .OUTPUTS
        None, or HvReplica.VMReplication with -Passthru.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName', SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.VMReplication')]
    param
    (
        [Parameter(ParameterSetName = 'VMName', Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $VMName,

        [Parameter(ParameterSetName = 'VMObject', Mandatory = $true, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [psobject[]]
        $VM,

        [Parameter(ParameterSetName = 'VMReplication', Mandatory = $true, Position = 0, ValueFromPipeline = $true)]
        [PSTypeName('HvReplica.VMReplication')]
        [psobject[]]
        $VMReplication,

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter(ParameterSetName = 'VMName')]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [Parameter(ParameterSetName = 'VMObject')]
        [Alias('Relationship')]
        [HvReplica.VMReplicationRelationshipType]
        $ReplicationRelationshipType,

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
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('ReplicationRelationshipType')
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM `
                -VMReplication $VMReplication -Command 'replication', 'remove' -Option $option `
                -TypeName 'HvReplica.VMReplication' -Action 'Remove replication' -Output:$Passthru -PassRelationship `
                -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
