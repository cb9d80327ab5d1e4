function Import-VMInitialReplication
{
    <#
    .SYNOPSIS
        Imports an initial copy that was exported to removable media.
    .DESCRIPTION
        On the replica host, applies the initial copy written by Start-HvrVMInitialReplication
        -DestinationPath to the placeholder replica VM, as Hyper-V's Import-VMInitialReplication does; the
        changes that queued up meanwhile are applied after it. Calls 'hvreplica initial import'
        (docs/cli-contract.md 3.6).
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
    .PARAMETER Path
        The exported folder (<DestinationPath>/<VMName>_<VMId>).
    .PARAMETER Passthru
        Write the HvReplica.VirtualMachine objects after the change.
    .EXAMPLE
        Import-HvrVMInitialReplication -VMName web1 -Path F:\IR\web1_5b0f4c7e-8a43-4d8e-9f51-2c6b1f0a7d93

        Imports the copy of web1 from the shipped disk.
    .EXAMPLE
        Import-HvrVMInitialReplication web1 F:\IR\web1_5b0f4c7e-8a43-4d8e-9f51-2c6b1f0a7d93 -Passthru

        The same with positional parameters, showing the replica VM.
    .INPUTS
        System.String, HvReplica.VMReplication, objects with a VMName property.
    .OUTPUTS
        None, or HvReplica.VirtualMachine with -Passthru.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName', SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.VirtualMachine')]
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

        [Parameter(ParameterSetName = 'VMName', Mandatory = $true, Position = 1)]
        [Parameter(ParameterSetName = 'VMObject', Mandatory = $true, Position = 1)]
        [Parameter(ParameterSetName = 'VMReplication', Mandatory = $true, Position = 1)]
        [Alias('IRLoc')]
        [ValidateNotNullOrEmpty()]
        [string]
        $Path,

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
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('Path')
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM `
                -VMReplication $VMReplication -Command 'initial', 'import' -Option $option `
                -TypeName 'HvReplica.VirtualMachine' -Action 'Import initial replication' -Output:$Passthru `
                -PassRelationship -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
