function Start-VMFailover
{
    <#
    .SYNOPSIS
        Fails a virtual machine over to its replica, prepares a planned failover, or starts a test failover.
    .DESCRIPTION
        As Hyper-V's Start-VMFailover. On the replica: fails over to the latest recovery point or the one
        given (state FailedOverWaitingCompletion; the VM is not started; finish with
        Complete-HvrVMFailover or undo with Stop-HvrVMFailover). With -AsTest: creates a test VM from the
        point while replication continues (remove it with Stop-HvrVMFailover). On the primary, with the VM
        off, -Prepare sends the last changes for a planned failover without data loss. Confirms by default
        (ConfirmImpact High). Calls 'hvreplica failover start' (docs/cli-contract.md 3.7).
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
    .PARAMETER VMRecoverySnapshot
        The recovery point to fail over to, from Get-HvrVMSnapshot; default the latest.
    .PARAMETER Prepare
        On the primary, with the VM off: send the last changes and prepare for a planned failover.
    .PARAMETER AsTest
        Create a test VM '<name> - Test' from the recovery point; replication goes on.
    .PARAMETER Passthru
        Write the HvReplica.VirtualMachine after the failover (always written with -AsTest: the test VM).
    .EXAMPLE
        Start-HvrVMFailover -VMName web1 -Prepare -Confirm:$false

        On the primary, with web1 off: the first step of a planned failover.
    .EXAMPLE
        Start-HvrVMFailover -VMName web1; Set-HvrVMReplication -VMName web1 -Reverse; Start-VM web1

        On the replica: fails over, reverses replication toward the old primary and starts the VM.
    .EXAMPLE
        Start-HvrVMFailover -VMName web1 -AsTest

        On the replica: creates the test VM "web1 - Test" from the latest point.
    .EXAMPLE
        Get-HvrVMSnapshot -VMName web1 -SnapshotType AppConsistentReplica | Select-Object -Last 1 | Start-HvrVMFailover

        Fails over to the latest application-consistent recovery point.
    .INPUTS
        System.String, HvReplica.VMSnapshot, objects with a VMName or Name property.
    .OUTPUTS
        None, or HvReplica.VirtualMachine with -Passthru; the test VM with -AsTest.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName', SupportsShouldProcess = $true, ConfirmImpact = 'High')]
    [OutputType('HvReplica.VirtualMachine')]
    param
    (
        [Parameter(ParameterSetName = 'VMName', Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [Parameter(ParameterSetName = 'VMName_Test', Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $VMName,

        [Parameter(ParameterSetName = 'VMObject', Mandatory = $true, Position = 0)]
        [Parameter(ParameterSetName = 'VMObject_Test', Mandatory = $true, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [psobject[]]
        $VM,

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [Parameter(ParameterSetName = 'VMName_Test', ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMName_Test')]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter(ParameterSetName = 'VMSnapshot', Mandatory = $true, Position = 0, ValueFromPipeline = $true)]
        [Parameter(ParameterSetName = 'VMSnapshot_Test', Mandatory = $true, Position = 0, ValueFromPipeline = $true)]
        [Alias('VMRecoveryCheckpoint')]
        [PSTypeName('HvReplica.VMSnapshot')]
        [psobject]
        $VMRecoverySnapshot,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [switch]
        $Prepare,

        [Parameter(ParameterSetName = 'VMName_Test', Mandatory = $true)]
        [Parameter(ParameterSetName = 'VMObject_Test', Mandatory = $true)]
        [Parameter(ParameterSetName = 'VMSnapshot_Test', Mandatory = $true)]
        [switch]
        $AsTest,

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
            $targets = @()
            $option = @()
            if ($null -ne $VMRecoverySnapshot)
            {
                $targets = @([pscustomobject]@{ VMName = [string]$VMRecoverySnapshot.VMName; ComputerName = [string]$VMRecoverySnapshot.ComputerName; RelationshipType = $null })
                $option += ('--recovery-point={0}' -f $VMRecoverySnapshot.Id)
            }
            else
            {
                $targets = @(Get-HvrVMTarget -VMName $VMName -ComputerName $ComputerName -VM $VM)
            }
            $option += ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('Prepare', 'AsTest')
            $action = 'Fail over to the replica'
            if ($Prepare) { $action = 'Prepare planned failover (send the last changes; the VM stays locked)' }
            if ($AsTest) { $action = 'Start test failover' }
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -Target $targets -Command 'failover', 'start' -Option $option `
                -TypeName 'HvReplica.VirtualMachine' -Action $action -Output:($Passthru -or $AsTest) -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
