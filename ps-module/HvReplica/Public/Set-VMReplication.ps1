function Set-VMReplication
{
    <#
    .SYNOPSIS
        Changes the replication settings of a virtual machine, or reverses replication.
    .DESCRIPTION
        As Hyper-V's Set-VMReplication: changes the settings of a relationship (replica server, port,
        authentication, frequency, recovery history, VSS, disks, resynchronization window), schedules the
        initial replication, reverses replication after a failover (-Reverse), or makes the old primary a
        replica after an unplanned failover (-AsReplica). On a replica VM with extended replication the
        settings apply to the extended relationship. Calls 'hvreplica replication set'
        (docs/cli-contract.md 3.2).
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
    .PARAMETER ReplicaServerName
        New replica server (DNS name). With -Reverse: the server to replicate back to; default the old
        primary's name as its certificate carries it, which must resolve on this host (else the command
        fails, naming this parameter, and changes nothing).
    .PARAMETER ReplicaServerPort
        New port of the replica server, 1-65535.
    .PARAMETER AuthenticationType
        Kerberos or Certificate; Certificate needs -CertificateThumbprint.
    .PARAMETER CertificateThumbprint
        Certificate to authenticate with; required with Certificate, refused with Kerberos.
    .PARAMETER CompressionEnabled
        Compress replicated data.
    .PARAMETER ReplicateHostKvpItems
        Replicate the host-only key-value pairs of the VM.
    .PARAMETER BypassProxyServer
        Connect to the replica server directly, not through the proxy.
    .PARAMETER EnableWriteOrderPreservationAcrossDisks
        Accepted for compatibility and ignored with a warning: write order is always preserved.
    .PARAMETER InitialReplicationStartTime
        Schedule (or reschedule) the initial replication; in the future, at most 7 days ahead.
    .PARAMETER DisableVSSSnapshotReplication
        Stop making application-consistent recovery points.
    .PARAMETER VSSSnapshotFrequencyHour
        Hours between application-consistent recovery points, 1-12; needs recovery history.
    .PARAMETER RecoveryHistory
        Additional hourly recovery points to keep, 0-24.
    .PARAMETER ReplicationFrequencySec
        Seconds between cycles: 30, 300 or 900.
    .PARAMETER ReplicatedDisks
        The disks to replicate (objects with a Path property); replaces the current set.
    .PARAMETER ReplicatedDiskPaths
        Full paths of the disks to replicate; replaces the current set.
    .PARAMETER Reverse
        On a replica that failed over: reverse the direction, replicating back to the old primary.
    .PARAMETER AutoResynchronizeEnabled
        Resynchronize automatically when required.
    .PARAMETER AutoResynchronizeIntervalStart
        Start of the daily window for automatic resynchronization.
    .PARAMETER AutoResynchronizeIntervalEnd
        End of the daily window for automatic resynchronization.
    .PARAMETER AsReplica
        On the old primary after an unplanned failover: make this VM a replica waiting for initial replication.
    .PARAMETER UseBackup
        With -InitialReplicationStartTime: start from the copy already on the replica.
    .PARAMETER AllowedPrimaryServer
        On a replica: the primary server (authorization entry) allowed to replicate to this VM.
    .PARAMETER AsJob
        Run as a background job and return the job.
    .PARAMETER Passthru
        Write the HvReplica.VMReplication objects after the change.
    .EXAMPLE
        Set-HvrVMReplication -VMName web1 -ReplicationFrequencySec 30 -RecoveryHistory 12 -VSSSnapshotFrequencyHour 4

        Replicates web1 every 30 seconds and keeps 12 hourly points, application-consistent every 4 hours.
    .EXAMPLE
        Set-HvrVMReplication -VMName web1 -Reverse

        On the replica after a planned failover: replicates web1 back to the old primary.
    .EXAMPLE
        Get-HvrVMReplication -ReplicaServerName old.contoso.com | Set-HvrVMReplication -ReplicaServerName new.contoso.com -Passthru

        Moves every relationship to a new replica server.
    .EXAMPLE
        Set-HvrVMReplication -VMName web1 -AsReplica

        On the old primary after an unplanned failover: prepares web1 to receive replication back.
    .INPUTS
        System.String, HvReplica.VMReplication, objects with a VMName or Name property.
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
        [Alias('Name')]
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

        [Parameter(ParameterSetName = 'VMName', Position = 1)]
        [Parameter(ParameterSetName = 'VMObject', Position = 1)]
        [Parameter(ParameterSetName = 'VMReplication', Position = 1)]
        [Alias('ReplicaServer')]
        [ValidateNotNullOrEmpty()]
        [string]
        $ReplicaServerName,

        [Parameter(ParameterSetName = 'VMName', Position = 2)]
        [Parameter(ParameterSetName = 'VMObject', Position = 2)]
        [Parameter(ParameterSetName = 'VMReplication', Position = 2)]
        [Alias('ReplicaPort')]
        [ValidateRange(1, 65535)]
        [int]
        $ReplicaServerPort,

        [Parameter(ParameterSetName = 'VMName', Position = 3)]
        [Parameter(ParameterSetName = 'VMObject', Position = 3)]
        [Parameter(ParameterSetName = 'VMReplication', Position = 3)]
        [Alias('AuthType')]
        [HvReplica.ReplicationAuthenticationType]
        $AuthenticationType,

        [Parameter(ValueFromPipelineByPropertyName = $true)]
        [Alias('Thumbprint', 'Cert')]
        [string]
        $CertificateThumbprint,

        [Parameter()]
        [bool]
        $CompressionEnabled,

        [Parameter()]
        [bool]
        $ReplicateHostKvpItems,

        [Parameter()]
        [bool]
        $BypassProxyServer,

        [Parameter()]
        [bool]
        $EnableWriteOrderPreservationAcrossDisks,

        [Parameter()]
        [Alias('IRTime')]
        [datetime]
        $InitialReplicationStartTime,

        [Parameter()]
        [Alias('DisableVSS')]
        [switch]
        $DisableVSSSnapshotReplication,

        [Parameter()]
        [Alias('VSSFreq')]
        [ValidateRange(1, 12)]
        [int]
        $VSSSnapshotFrequencyHour,

        [Parameter()]
        [Alias('RecHist')]
        [ValidateRange(0, 24)]
        [int]
        $RecoveryHistory,

        [Parameter()]
        [Alias('RepFreq')]
        [ValidateSet(30, 300, 900)]
        [int]
        $ReplicationFrequencySec,

        [Parameter()]
        [psobject[]]
        $ReplicatedDisks,

        [Parameter()]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ReplicatedDiskPaths,

        [Parameter()]
        [switch]
        $Reverse,

        [Parameter()]
        [Alias('AutoResync')]
        [bool]
        $AutoResynchronizeEnabled,

        [Parameter()]
        [Alias('AutoResyncStart')]
        [timespan]
        $AutoResynchronizeIntervalStart,

        [Parameter()]
        [Alias('AutoResyncEnd')]
        [timespan]
        $AutoResynchronizeIntervalEnd,

        [Parameter()]
        [switch]
        $AsReplica,

        [Parameter()]
        [switch]
        $UseBackup,

        [Parameter(ValueFromPipelineByPropertyName = $true)]
        [Alias('AllowedPS')]
        [ValidateNotNullOrEmpty()]
        [string]
        $AllowedPrimaryServer,

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
            if ($PSBoundParameters.ContainsKey('EnableWriteOrderPreservationAcrossDisks'))
            {
                Write-Warning -Message 'EnableWriteOrderPreservationAcrossDisks is not required: write order is always preserved across disks.'
            }
            $bound = @{} + $PSBoundParameters
            if ($PSBoundParameters.ContainsKey('ReplicatedDisks'))
            {
                $bound['ReplicatedDiskPaths'] = Join-HvrDiskPath -Path $ReplicatedDiskPaths -Disk $ReplicatedDisks
            }
            $settings = @(
                'ReplicaServerName', 'ReplicaServerPort', 'AuthenticationType', 'CertificateThumbprint', 'CompressionEnabled',
                'ReplicateHostKvpItems', 'BypassProxyServer', 'InitialReplicationStartTime', 'DisableVSSSnapshotReplication',
                'VSSSnapshotFrequencyHour', 'RecoveryHistory', 'ReplicationFrequencySec', 'ReplicatedDiskPaths', 'Reverse',
                'AutoResynchronizeEnabled', 'AutoResynchronizeIntervalStart', 'AutoResynchronizeIntervalEnd', 'AsReplica',
                'UseBackup', 'AllowedPrimaryServer'
            )
            $option = ConvertTo-HvrCliArgument -BoundParameters $bound -Name $settings
            # Collected, not thrown: a caught throw would also land in the caller's -ErrorVariable.
            $problems = @()
            if ($option.Count -eq 0)
            {
                $problems += (New-HvrErrorRecord -ErrorId 'HvrNothingToChange' -Category InvalidArgument -TargetObject $VMName `
                        -Message 'No setting was given, so nothing would change.')
            }
            if ($PSBoundParameters.ContainsKey('AuthenticationType'))
            {
                $problems += @(Get-HvrThumbprintError -AuthenticationType $AuthenticationType -CertificateThumbprint $CertificateThumbprint)
            }
            if ($PSBoundParameters.ContainsKey('InitialReplicationStartTime'))
            {
                $problems += @(Get-HvrStartTimeError -StartTime $InitialReplicationStartTime -ParameterName 'InitialReplicationStartTime')
            }
            elseif ($UseBackup)
            {
                $problems += (New-HvrErrorRecord -ErrorId 'HvrUseBackupNeedsStartTime' -Category InvalidArgument -TargetObject $VMName `
                        -Message '-UseBackup needs -InitialReplicationStartTime.')
            }
            if ($PSBoundParameters.ContainsKey('VSSSnapshotFrequencyHour') -and
                ($DisableVSSSnapshotReplication -or ($PSBoundParameters.ContainsKey('RecoveryHistory') -and $RecoveryHistory -eq 0)))
            {
                $problems += (New-HvrErrorRecord -ErrorId 'HvrVssNeedsRecoveryHistory' -Category InvalidArgument -TargetObject $VSSSnapshotFrequencyHour `
                        -Message '-VSSSnapshotFrequencyHour needs recovery history above 0 and cannot be combined with -DisableVSSSnapshotReplication.')
            }
            if ($Reverse -and $bound.ContainsKey('ReplicatedDiskPaths'))
            {
                $problems += (New-HvrErrorRecord -ErrorId 'HvrReverseWithDisks' -Category InvalidArgument -TargetObject $VMName `
                        -Message '-Reverse cannot be combined with -ReplicatedDisks or -ReplicatedDiskPaths.')
            }
            $others = @($settings | Where-Object { $bound.ContainsKey($_) -and $_ -notin 'AsReplica', 'AllowedPrimaryServer' })
            if ($AsReplica -and $others.Count -gt 0)
            {
                $problems += (New-HvrErrorRecord -ErrorId 'HvrAsReplicaExclusive' -Category InvalidArgument -TargetObject $VMName `
                        -Message ('-AsReplica can only be combined with -AllowedPrimaryServer, not with -{0}.' -f ($others -join ', -')))
            }
            if ($problems.Count -gt 0)
            {
                $PSCmdlet.ThrowTerminatingError($problems[0])
            }

            $action = 'Change replication settings'
            if ($Reverse) { $action = 'Reverse replication' }
            if ($AsReplica) { $action = 'Make this VM a replica waiting for initial replication' }
            $jobCommand = if ($AsJob) { 'Set-VMReplication' } else { $null }
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM `
                -VMReplication $VMReplication -Command 'replication', 'set' -Option $option `
                -TypeName 'HvReplica.VMReplication' -Action $action -Output:$Passthru -Credential $Credential `
                -JobCommand $jobCommand -BoundParameters $PSBoundParameters
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
