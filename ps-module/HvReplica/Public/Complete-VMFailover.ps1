function Complete-VMFailover
{
    <#
    .SYNOPSIS
        Completes a failover, keeping the chosen recovery point.
    .DESCRIPTION
        On the replica, commits the recovery point a failover chose and deletes the other recovery points,
        as Hyper-V's Complete-VMFailover does (state FailedOver). It cannot be undone, so it confirms by
        default (ConfirmImpact High). Calls 'hvreplica failover complete' (docs/cli-contract.md 3.7).

        The failed-over VM may run meanwhile (Start-HvrVMFailover, Start-VM, Complete-HvrVMFailover). On
        Hyper-V, whose running VM holds its disk chain open, the state becomes FailedOver at once and every
        other recovery point is deleted, but the files of the chosen point's chain stay in the replica
        storage folder, under the VM, until it is off: turn it off when convenient (Stop-VM) and run
        Complete-HvrVMFailover again, which moves the VM onto standalone disks and deletes that folder.
        Run again while the VM still runs, it fails with that instruction and changes nothing;
        Set-HvrVMReplication -AsReplica, Resume-HvrVMReplication -Continue, -Reverse and
        Remove-HvrVMReplication with the VM off finish it on their way (Remove-HvrVMReplication refuses while
        it runs). The command says so in a warning (docs/hyperv.md, "Failover on a Hyper-V replica").
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
        Complete-HvrVMFailover -VMName web1

        Commits the failover of web1 after confirmation.
    .EXAMPLE
        Get-HvrVMReplication -ReplicationState FailedOverWaitingCompletion | Complete-HvrVMFailover -Confirm:$false

        Commits every pending failover without asking.
    .EXAMPLE
        Start-HvrVMFailover -VMName web1; Start-VM -Name web1; Complete-HvrVMFailover -VMName web1 -Confirm:$false
        # later, in a maintenance window:
        Stop-VM -Name web1; Complete-HvrVMFailover -VMName web1 -Confirm:$false; Start-VM -Name web1

        On Hyper-V: completes the failover while web1 runs, then moves it off the kept recovery point once
        it is off.
    .INPUTS
        System.String, objects with a VMName or Name property.
    .OUTPUTS
        None, or HvReplica.VirtualMachine with -Passthru.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName', SupportsShouldProcess = $true, ConfirmImpact = 'High')]
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
            -Command 'failover', 'complete' -TypeName 'HvReplica.VirtualMachine' `
            -Action 'Complete failover (the other recovery points are deleted)' -Output:$Passthru `
            -Credential $Credential
    }
}
