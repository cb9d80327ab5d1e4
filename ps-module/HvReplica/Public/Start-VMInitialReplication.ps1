function Start-VMInitialReplication
{
    <#
    .SYNOPSIS
        Starts the initial replication of a virtual machine.
    .DESCRIPTION
        Copies the VM to the replica server for the first time, as Hyper-V's Start-VMInitialReplication
        does: over the network now, over the network at -InitialReplicationStartTime (within 7 days),
        to removable media with -DestinationPath (then Import-HvrVMInitialReplication on the replica), or
        from a copy that already exists on the replica with -UseBackup (only the differences are sent).
        The relationship must be ReadyForInitialReplication. Calls 'hvreplica initial start'
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
    .PARAMETER DestinationPath
        Folder on removable media to export the initial copy to.
    .PARAMETER InitialReplicationStartTime
        When to start; in the future and at most 7 days ahead.
    .PARAMETER UseBackup
        Start from the copy of the VM that already exists on the replica (see Enable-HvrVMReplication -AsReplica).
    .PARAMETER AsJob
        Run as a background job and return the job.
    .PARAMETER Passthru
        Write the HvReplica.VMReplication objects after the change.
    .EXAMPLE
        Start-HvrVMInitialReplication -VMName web1

        Starts copying web1 to its replica server now.
    .EXAMPLE
        Start-HvrVMInitialReplication -VMName web1 -InitialReplicationStartTime (Get-Date).AddHours(8)

        Schedules the copy for eight hours from now.
    .EXAMPLE
        Start-HvrVMInitialReplication -VMName web1 -DestinationPath E:\IR

        Exports the initial copy to E:\IR\web1_<VMId> for shipping to the replica site.
    .EXAMPLE
        Get-HvrVMReplication -ReplicationState ReadyForInitialReplication | Start-HvrVMInitialReplication -AsJob

        Starts every pending initial replication in background jobs.
    .INPUTS
        System.String, HvReplica.VMReplication, objects with a VMName property.
    .OUTPUTS
        None, or HvReplica.VMReplication with -Passthru; a job with -AsJob.
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
        [Alias('IRLoc')]
        [ValidateNotNullOrEmpty()]
        [string]
        $DestinationPath,

        [Parameter()]
        [Alias('IRTime')]
        [datetime]
        $InitialReplicationStartTime,

        [Parameter()]
        [switch]
        $UseBackup,

        [Parameter()]
        [switch]
        $AsJob,

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
            # Collected, not thrown: a caught throw would also land in the caller's -ErrorVariable.
            $problems = @()
            if ($PSBoundParameters.ContainsKey('DestinationPath') -and ($UseBackup -or $PSBoundParameters.ContainsKey('InitialReplicationStartTime')))
            {
                $problems += (New-HvrErrorRecord -ErrorId 'HvrDestinationPathConflict' -Category InvalidArgument -TargetObject $DestinationPath `
                        -Message '-DestinationPath exports the initial copy now; it cannot be combined with -UseBackup or -InitialReplicationStartTime.')
            }
            if ($PSBoundParameters.ContainsKey('InitialReplicationStartTime'))
            {
                $problems += @(Get-HvrStartTimeError -StartTime $InitialReplicationStartTime -ParameterName 'InitialReplicationStartTime')
            }
            if ($problems.Count -gt 0)
            {
                $PSCmdlet.ThrowTerminatingError($problems[0])
            }
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('DestinationPath', 'InitialReplicationStartTime', 'UseBackup')
            $jobCommand = if ($AsJob) { 'Start-VMInitialReplication' } else { $null }
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM `
                -VMReplication $VMReplication -Command 'initial', 'start' -Option $option `
                -TypeName 'HvReplica.VMReplication' -Action 'Start initial replication' -Output:$Passthru `
                -PassRelationship -Credential $Credential -JobCommand $jobCommand -BoundParameters $PSBoundParameters
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
