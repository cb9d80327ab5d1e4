function Stop-VMInitialReplication
{
    <#
    .SYNOPSIS
        Stops an ongoing or scheduled initial replication.
    .DESCRIPTION
        Cancels the initial replication of a VM over the network, from a copy, or its export to
        removable media (an export that has finished cannot be stopped), as Hyper-V's
        Stop-VMInitialReplication does. The relationship goes back to ReadyForInitialReplication.
        Calls 'hvreplica initial stop' (docs/cli-contract.md 3.6).
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
    .PARAMETER Passthru
        Write the HvReplica.VMReplication objects after the change.
    .EXAMPLE
        Stop-HvrVMInitialReplication -VMName web1

        Stops the initial replication of web1.
    .EXAMPLE
        Get-HvrVMReplication -ReplicationState InitialReplicationInProgress | Stop-HvrVMInitialReplication

        Stops every initial replication in progress.
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
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @()
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM `
                -VMReplication $VMReplication -Command 'initial', 'stop' -Option $option `
                -TypeName 'HvReplica.VMReplication' -Action 'Stop initial replication' -Output:$Passthru `
                -PassRelationship -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
