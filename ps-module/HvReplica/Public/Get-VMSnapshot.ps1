function Get-VMSnapshot
{
    <#
    .SYNOPSIS
        Lists the recovery points of a replica virtual machine.
    .DESCRIPTION
        As Hyper-V's Get-VMSnapshot -SnapshotType Replica|AppConsistentReplica|SyncedReplica does on a
        replica: the recovery points a failover can choose, oldest first. Pipe one to Start-HvrVMFailover.
        Calls 'hvreplica recovery-point list' (docs/cli-contract.md 3.8).
    .PARAMETER VMName
        Name of the VM (wildcards allowed). Accepts pipeline input by value and by property name
        (VMName, or Name where Hyper-V has that alias).
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host. Bound by property name, so
        objects from another host are acted on there.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER SnapshotType
        Replica (crash-consistent), AppConsistentReplica (VSS) or SyncedReplica (planned failover).
    .EXAMPLE
        Get-HvrVMSnapshot -VMName web1

        Lists the recovery points of web1.
    .EXAMPLE
        Get-HvrVMSnapshot -VMName web1 -SnapshotType AppConsistentReplica | Select-Object -Last 1 | Start-HvrVMFailover -AsTest

        Tests the latest application-consistent point.
    .INPUTS
        System.String, objects with a VMName property.
    .OUTPUTS
        HvReplica.VMSnapshot
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName')]
    [OutputType('HvReplica.VMSnapshot')]
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
        [HvReplica.SnapshotType]
        $SnapshotType
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
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('SnapshotType')
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName `
                -Command 'recovery-point', 'list' -Option $option -TypeName 'HvReplica.VMSnapshot' -Output `
                -Credential $Credential
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
