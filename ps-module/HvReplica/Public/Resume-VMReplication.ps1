function Resume-VMReplication
{
    <#
    .SYNOPSIS
        Resumes a paused replication, or starts a resynchronization.
    .DESCRIPTION
        Resumes a Suspended relationship, or one in error, as Hyper-V's Resume-VMReplication does. With
        -Resynchronize it starts a resynchronization now or at -ResynchronizeStartTime (within 7 days);
        hvreplica keeps the recovery points while doing so. With -Continue, on a replica that failed over
        and has extended replication, it continues replicating to the extended replica.
        A relationship its replica server refused as removed there (state Error, ReplicationError saying
        so; with -ReplicationRelationshipType Extended, the extended relationship its extended replica
        server removed) is cleared to try again: the next cycle asks that server once more.
        Calls 'hvreplica replication resume' (docs/cli-contract.md 3.5).
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
    .PARAMETER Resynchronize
        Start a resynchronization (compare both copies and send only the differences).
    .PARAMETER ResynchronizeStartTime
        When to start it; needs -Resynchronize; in the future and at most 7 days ahead.
    .PARAMETER Continue
        On a failed-over replica with extended replication: continue replicating to the extended replica.
    .PARAMETER AsJob
        Run as a background job and return the job.
    .PARAMETER Passthru
        Write the HvReplica.VMReplication objects after the change.
    .EXAMPLE
        Resume-HvrVMReplication -VMName web1

        Resumes replication of web1.
    .EXAMPLE
        Resume-HvrVMReplication -VMName * -Resynchronize -ResynchronizeStartTime (Get-Date).Date.AddDays(1).AddHours(2)

        Schedules resynchronization of every VM for 02:00 tomorrow.
    .EXAMPLE
        Get-HvrVMReplication -ReplicationState WaitingForStartResynchronize | Resume-HvrVMReplication -Resynchronize

        Resynchronizes every relationship that needs it.
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

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [Parameter(ParameterSetName = 'VMObject')]
        [Alias('Relationship')]
        [HvReplica.VMReplicationRelationshipType]
        $ReplicationRelationshipType,

        [Parameter()]
        [Alias('Resync')]
        [switch]
        $Resynchronize,

        [Parameter()]
        [Alias('ResyncStart')]
        [datetime]
        $ResynchronizeStartTime,

        [Parameter()]
        [switch]
        $Continue,

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
            if ($PSBoundParameters.ContainsKey('ResynchronizeStartTime'))
            {
                if (-not $Resynchronize)
                {
                    $problems += (New-HvrErrorRecord -ErrorId 'HvrResyncStartTimeNeedsResynchronize' -Category InvalidArgument -TargetObject $ResynchronizeStartTime `
                            -Message '-ResynchronizeStartTime needs -Resynchronize.')
                }
                $problems += @(Get-HvrStartTimeError -StartTime $ResynchronizeStartTime -ParameterName 'ResynchronizeStartTime')
            }
            if ($problems.Count -gt 0)
            {
                $PSCmdlet.ThrowTerminatingError($problems[0])
            }
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('ReplicationRelationshipType', 'Resynchronize', 'ResynchronizeStartTime', 'Continue')
            $jobCommand = if ($AsJob) { 'Resume-VMReplication' } else { $null }
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM `
                -VMReplication $VMReplication -Command 'replication', 'resume' -Option $option `
                -TypeName 'HvReplica.VMReplication' -Action 'Resume replication' -Output:$Passthru -PassRelationship `
                -Credential $Credential -JobCommand $jobCommand -BoundParameters $PSBoundParameters
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
