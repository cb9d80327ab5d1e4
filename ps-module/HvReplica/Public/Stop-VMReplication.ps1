function Stop-VMReplication
{
    <#
    .SYNOPSIS
        Cancels an ongoing resynchronization.
    .DESCRIPTION
        Cancels the resynchronization of a relationship, as Hyper-V's Stop-VMReplication does. A
        cancelled resynchronization leaves the relationship needing one (WaitingForStartResynchronize on the
        primary); resuming later starts it again. Calls 'hvreplica replication stop' (docs/cli-contract.md 3.5).
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
        Stop-HvrVMReplication -VMName web1

        Cancels the resynchronization of web1.
    .EXAMPLE
        Get-HvrVMReplication -ReplicationState Resynchronizing | Stop-HvrVMReplication -WhatIf

        Shows which resynchronizations would be cancelled.
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
                -VMReplication $VMReplication -Command 'replication', 'stop' -Option $option `
                -TypeName 'HvReplica.VMReplication' -Action 'Cancel resynchronization' -Output:$Passthru `
                -PassRelationship -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
