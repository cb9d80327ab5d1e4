function Register-ReplicationTask
{
    <#
    .SYNOPSIS
        Registers a scheduled task that replicates a virtual machine.
    .DESCRIPTION
        For hosts that run no hvreplica agent: registers a scheduled task (Windows Task Scheduler, or a
        systemd timer on Linux) that runs one replication cycle of the VM ('hvreplica replicate --vm NAME')
        every interval. Calls 'hvreplica task register' (docs/cli-contract.md 3.13).
    .PARAMETER VMName
        Name of the VM. Accepts pipeline input by value and by property name
        (VMName, or Name where Hyper-V has that alias).
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host. Bound by property name, so
        objects from another host are acted on there.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER IntervalSec
        Seconds between runs: 30, 300 or 900; default the relationship's ReplicationFrequencySec.
    .PARAMETER TaskName
        Name of the task; default one derived from the VM name.
    .EXAMPLE
        Register-HvrReplicationTask -VMName web1

        Replicates web1 on a schedule at its replication frequency.
    .EXAMPLE
        Get-HvrVMReplication -ReplicationMode Primary | Register-HvrReplicationTask -IntervalSec 900

        Registers a 15-minute task for every primary VM of this host.
    .INPUTS
        System.String, objects with a VMName property.
    .OUTPUTS
        HvReplica.ReplicationTask
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName', SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.ReplicationTask')]
    param
    (
        [Parameter(ParameterSetName = 'VMName', Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $VMName,

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter(ParameterSetName = 'VMName')]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter()]
        [ValidateSet(30, 300, 900)]
        [int]
        $IntervalSec,

        [Parameter()]
        [ValidateNotNullOrEmpty()]
        [string]
        $TaskName
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
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('IntervalSec', 'TaskName')
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName `
                -Command 'task', 'register' -Option $option -TypeName 'HvReplica.ReplicationTask' `
                -Action 'Register scheduled replication task' -Output -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
