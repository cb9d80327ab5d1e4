function Stop-VMFailover
{
    <#
    .SYNOPSIS
        Cancels a failover, or stops a test failover.
    .DESCRIPTION
        As Hyper-V's Stop-VMFailover: removes the test VM of a test failover; on a replica that failed
        over but did not complete, turns the VM off and goes back to Replicating so that another recovery
        point can be chosen; on a primary prepared for a planned failover, cancels the preparation.
        Calls 'hvreplica failover stop' (docs/cli-contract.md 3.7).
    .PARAMETER VMName
        Name of the VM (wildcards allowed). Accepts pipeline input by value and by property name
        (VMName, or Name where Hyper-V has that alias).
    .PARAMETER VM
        VM objects (Hyper-V's from Get-VM, or HvReplica.VirtualMachine).
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host. Bound by property name, so
        objects from another host are acted on there.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER Passthru
        Write the HvReplica.VirtualMachine afterwards.
    .EXAMPLE
        Stop-HvrVMFailover -VMName web1

        Removes the test VM of web1, or cancels its failover.
    .EXAMPLE
        Stop-HvrVMFailover -VMName web1 -WhatIf

        Shows what would be undone.
    .INPUTS
        System.String, objects with a VMName or Name property.
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

    process
    {
        Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM `
            -Command 'failover', 'stop' -TypeName 'HvReplica.VirtualMachine' -Action 'Cancel failover' `
            -Output:$Passthru -Credential $Credential
    }
}
