function Enable-VMReplication
{
    <#
    .SYNOPSIS
        Enables replication of a virtual machine to a replica server.
    .DESCRIPTION
        Creates the replication relationship of each VM named, as Hyper-V's Enable-VMReplication does:
        the VM becomes a primary VM in state ReadyForInitialReplication until
        Start-HvrVMInitialReplication copies it. Run against a Replica VM, it creates the extended
        relationship to a third host. With -AsReplica, run on the replica host, it marks an existing VM
        (a copy restored from backup, say) as the target of an initial replication from that copy.
        Calls 'hvreplica replication enable' (docs/cli-contract.md 3.1).
    .PARAMETER VMName
        Name of the VM (wildcards allowed). Accepts pipeline input by value and by property name
        (VMName or Name, so Hyper-V's Get-VM objects bind).
    .PARAMETER VM
        VM objects (Hyper-V's from Get-VM, or HvReplica.VirtualMachine).
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host. Bound by property name, so
        objects from another host are acted on there.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER ReplicaServerName
        DNS name of the replica server (IP addresses are refused, as by Hyper-V).
    .PARAMETER ReplicaServerPort
        Port of the replica server's listener, 1-65535.
    .PARAMETER AuthenticationType
        Kerberos or Certificate. hvreplica always encrypts with TLS; Certificate needs -CertificateThumbprint.
    .PARAMETER CertificateThumbprint
        Thumbprint of the certificate to authenticate with; required exactly when the type is Certificate.
    .PARAMETER CompressionEnabled
        Compress replicated data.
    .PARAMETER ReplicateHostKvpItems
        Replicate the host-only key-value pairs of the VM.
    .PARAMETER BypassProxyServer
        Connect to the replica server directly, not through the proxy.
    .PARAMETER EnableWriteOrderPreservationAcrossDisks
        Accepted for compatibility and ignored with a warning: write order is always preserved.
    .PARAMETER VSSSnapshotFrequencyHour
        Hours between application-consistent recovery points, 1-12; needs -RecoveryHistory above 0.
    .PARAMETER RecoveryHistory
        Number of additional hourly recovery points kept on the replica, 0-24.
    .PARAMETER ReplicationFrequencySec
        Seconds between replication cycles: 30, 300 or 900.
    .PARAMETER ExcludedVhd
        Disks not to replicate (objects with a Path property, e.g. from Get-VMHardDiskDrive).
    .PARAMETER ExcludedVhdPath
        Full paths of the disks not to replicate.
    .PARAMETER AutoResynchronizeEnabled
        Resynchronize automatically when resynchronization is required.
    .PARAMETER AutoResynchronizeIntervalStart
        Start of the daily window for automatic resynchronization (time of day).
    .PARAMETER AutoResynchronizeIntervalEnd
        End of the daily window for automatic resynchronization (time of day).
    .PARAMETER AsReplica
        Mark an existing VM on the replica host as the replica of an initial replication from a copy.
    .PARAMETER AllowedPrimaryServer
        With -AsReplica: the primary server (an authorization entry) allowed to replicate to this VM.
    .PARAMETER AsJob
        Run as a background job and return the job.
    .PARAMETER Passthru
        Write the new HvReplica.VMReplication objects.
    .EXAMPLE
        Enable-HvrVMReplication -VMName web1 -ReplicaServerName replica.contoso.com -ReplicaServerPort 443 -AuthenticationType Certificate -CertificateThumbprint 0442C676C8726ADDD1CE029AFC20EB158490AFC8

        Enables replication of web1 with certificate authentication.
    .EXAMPLE
        'web1', 'db1' | Enable-HvrVMReplication -ReplicaServerName replica.contoso.com -ReplicaServerPort 443 -AuthenticationType Certificate -CertificateThumbprint $thumb -ReplicationFrequencySec 30 -RecoveryHistory 4 -VSSSnapshotFrequencyHour 2 -Passthru

        Enables two VMs from the pipeline with a 30-second cycle, four hourly recovery points and an
        application-consistent point every two hours.
    .EXAMPLE
        Enable-HvrVMReplication -VMName web1 -AsReplica -AllowedPrimaryServer hv1.contoso.com

        On the replica host: uses the existing VM web1 as the target of an initial replication from a copy.
    .INPUTS
        System.String, objects with a VMName or Name property.
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
        [Parameter(ParameterSetName = 'VMName_AsReplica', Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [Alias('Name')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $VMName,

        [Parameter(ParameterSetName = 'VMObject', Mandatory = $true, Position = 0)]
        [Parameter(ParameterSetName = 'VMObject_AsReplica', Mandatory = $true, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [psobject[]]
        $VM,

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [Parameter(ParameterSetName = 'VMName_AsReplica', ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMName_AsReplica')]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter(ParameterSetName = 'VMName', Mandatory = $true, Position = 1)]
        [Parameter(ParameterSetName = 'VMObject', Mandatory = $true, Position = 1)]
        [Alias('ReplicaServer')]
        [ValidateNotNullOrEmpty()]
        [string]
        $ReplicaServerName,

        [Parameter(ParameterSetName = 'VMName', Mandatory = $true, Position = 2)]
        [Parameter(ParameterSetName = 'VMObject', Mandatory = $true, Position = 2)]
        [Alias('ReplicaPort')]
        [ValidateRange(1, 65535)]
        [int]
        $ReplicaServerPort,

        [Parameter(ParameterSetName = 'VMName', Mandatory = $true, Position = 3)]
        [Parameter(ParameterSetName = 'VMObject', Mandatory = $true, Position = 3)]
        [Alias('AuthType')]
        [HvReplica.ReplicationAuthenticationType]
        $AuthenticationType,

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [Parameter(ParameterSetName = 'VMObject', ValueFromPipelineByPropertyName = $true)]
        [Alias('Thumbprint', 'Cert')]
        [string]
        $CertificateThumbprint,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [bool]
        $CompressionEnabled,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [bool]
        $ReplicateHostKvpItems,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [bool]
        $BypassProxyServer,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [bool]
        $EnableWriteOrderPreservationAcrossDisks,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [Alias('VSSFreq')]
        [ValidateRange(1, 12)]
        [int]
        $VSSSnapshotFrequencyHour,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [Alias('RecHist')]
        [ValidateRange(0, 24)]
        [int]
        $RecoveryHistory,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [Alias('RepFreq')]
        [ValidateSet(30, 300, 900)]
        [int]
        $ReplicationFrequencySec,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [psobject[]]
        $ExcludedVhd,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ExcludedVhdPath,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [Alias('AutoResync')]
        [bool]
        $AutoResynchronizeEnabled,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [Alias('AutoResyncStart')]
        [timespan]
        $AutoResynchronizeIntervalStart,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'VMObject')]
        [Alias('AutoResyncEnd')]
        [timespan]
        $AutoResynchronizeIntervalEnd,

        [Parameter(ParameterSetName = 'VMName_AsReplica', Mandatory = $true)]
        [Parameter(ParameterSetName = 'VMObject_AsReplica', Mandatory = $true)]
        [switch]
        $AsReplica,

        [Parameter(ParameterSetName = 'VMName_AsReplica', ValueFromPipelineByPropertyName = $true)]
        [Parameter(ParameterSetName = 'VMObject_AsReplica', ValueFromPipelineByPropertyName = $true)]
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
            # Collected, not thrown: a caught throw would also land in the caller's -ErrorVariable.
            $problems = @()
            if (-not $AsReplica)
            {
                $problems += @(Get-HvrThumbprintError -AuthenticationType $AuthenticationType -CertificateThumbprint $CertificateThumbprint)
            }
            if ($PSBoundParameters.ContainsKey('VSSSnapshotFrequencyHour') -and $RecoveryHistory -lt 1)
            {
                $problems += (New-HvrErrorRecord -ErrorId 'HvrVssNeedsRecoveryHistory' -Category InvalidArgument -TargetObject $VSSSnapshotFrequencyHour `
                        -Message '-VSSSnapshotFrequencyHour needs -RecoveryHistory greater than 0: application-consistent points are kept among the recovery points.')
            }
            if ($problems.Count -gt 0)
            {
                $PSCmdlet.ThrowTerminatingError($problems[0])
            }

            $bound = @{} + $PSBoundParameters
            if ($PSBoundParameters.ContainsKey('ExcludedVhd'))
            {
                $bound['ExcludedVhdPath'] = Join-HvrDiskPath -Path $ExcludedVhdPath -Disk $ExcludedVhd
            }
            $option = ConvertTo-HvrCliArgument -BoundParameters $bound -Name @(
                'ReplicaServerName', 'ReplicaServerPort', 'AuthenticationType', 'CertificateThumbprint',
                'CompressionEnabled', 'ReplicateHostKvpItems', 'BypassProxyServer', 'VSSSnapshotFrequencyHour',
                'RecoveryHistory', 'ReplicationFrequencySec', 'ExcludedVhdPath', 'AutoResynchronizeEnabled',
                'AutoResynchronizeIntervalStart', 'AutoResynchronizeIntervalEnd', 'AsReplica', 'AllowedPrimaryServer'
            )
            $jobCommand = if ($AsJob) { 'Enable-VMReplication' } else { $null }
            Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM `
                -Command 'replication', 'enable' -Option $option -TypeName 'HvReplica.VMReplication' `
                -Action 'Enable replication' -Output:$Passthru -Credential $Credential -JobCommand $jobCommand `
                -BoundParameters $PSBoundParameters
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
