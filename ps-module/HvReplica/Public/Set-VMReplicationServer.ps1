function Set-VMReplicationServer
{
    <#
    .SYNOPSIS
        Configures a host as a replica server.
    .DESCRIPTION
        As Hyper-V's Set-VMReplicationServer: turns the replica server on or off, chooses the
        authentication types and the listener's ports and certificate, allows replication from any
        authenticated server (with a default storage location) or only from authorization entries, and
        sets the monitoring interval. Unlike Hyper-V, ports that are not given keep their values.
        Calls 'hvreplica server set' (docs/cli-contract.md 3.10).
    .PARAMETER ReplicationEnabled
        Accept replication as a replica server; $true needs -AllowedAuthenticationType.
    .PARAMETER AllowedAuthenticationType
        Kerberos, Certificate or CertificateAndKerberos; the Certificate ones need -CertificateThumbprint.
    .PARAMETER ReplicationAllowedFromAnyServer
        Accept any authenticated primary (needs -DefaultStorageLocation); turning it on deletes the specific authorization entries after confirmation.
    .PARAMETER CertificateThumbprint
        Certificate of the listener.
    .PARAMETER DefaultStorageLocation
        Where replicas from any server are stored.
    .PARAMETER KerberosAuthenticationPort
        Port of the Kerberos listener, 1-65535.
    .PARAMETER CertificateAuthenticationPort
        Port of the certificate listener, 1-65535.
    .PARAMETER KerberosAuthenticationPortMapping
        Per-node ports (FQDN = port) for a replica behind port-based NAT.
    .PARAMETER CertificateAuthenticationPortMapping
        Per-node ports (FQDN = port) for a replica behind port-based NAT.
    .PARAMETER MonitoringInterval
        Length of the statistics interval, 1 hour to 7 days.
    .PARAMETER MonitoringStartTime
        Time of day the statistics interval starts.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER Force
        Do not ask before deleting authorization entries.
    .PARAMETER Passthru
        Write the HvReplica.VMReplicationServer after the change.
    .EXAMPLE
        Set-HvrVMReplicationServer -ReplicationEnabled $true -AllowedAuthenticationType Certificate -CertificateThumbprint 0442C676C8726ADDD1CE029AFC20EB158490AFC8 -CertificateAuthenticationPort 443

        Makes this host a replica server with certificate authentication on port 443.
    .EXAMPLE
        Set-HvrVMReplicationServer $true Certificate $true -CertificateThumbprint $thumb -DefaultStorageLocation D:\Replica -Force

        Accepts replication from any authenticated server into D:\Replica, deleting specific entries without asking.
    .EXAMPLE
        Set-HvrVMReplicationServer -MonitoringInterval 06:00:00 -MonitoringStartTime 08:00:00

        Collects statistics in 6-hour intervals starting at 08:00.
    .INPUTS
        None.
    .OUTPUTS
        None, or HvReplica.VMReplicationServer with -Passthru.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'AuthenticationPort', SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.VMReplicationServer')]
    param
    (
        [Parameter(Position = 0)]
        [Alias('RepEnabled')]
        [bool]
        $ReplicationEnabled,

        [Parameter(Position = 1)]
        [Alias('AuthType')]
        [HvReplica.RecoveryAuthenticationType]
        $AllowedAuthenticationType,

        [Parameter(Position = 2)]
        [Alias('AllowAnyServer')]
        [bool]
        $ReplicationAllowedFromAnyServer,

        [Parameter()]
        [Alias('Thumbprint')]
        [ValidateNotNullOrEmpty()]
        [string]
        $CertificateThumbprint,

        [Parameter()]
        [Alias('StorageLoc')]
        [ValidateNotNullOrEmpty()]
        [string]
        $DefaultStorageLocation,

        [Parameter(ParameterSetName = 'AuthenticationPort')]
        [Alias('KerbAuthPort')]
        [ValidateRange(1, 65535)]
        [int]
        $KerberosAuthenticationPort,

        [Parameter(ParameterSetName = 'AuthenticationPort')]
        [Alias('CertAuthPort')]
        [ValidateRange(1, 65535)]
        [int]
        $CertificateAuthenticationPort,

        [Parameter(ParameterSetName = 'AuthenticationPortMapping')]
        [hashtable]
        $KerberosAuthenticationPortMapping,

        [Parameter(ParameterSetName = 'AuthenticationPortMapping')]
        [hashtable]
        $CertificateAuthenticationPortMapping,

        [Parameter()]
        [ValidateScript({ $_ -ge [timespan]::FromHours(1) -and $_ -le [timespan]::FromDays(7) })]
        [timespan]
        $MonitoringInterval,

        [Parameter()]
        [ValidateScript({ $_ -ge [timespan]::Zero -and $_ -lt [timespan]::FromDays(1) })]
        [timespan]
        $MonitoringStartTime,

        [Parameter()]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter()]
        [switch]
        $Force,

        [Parameter()]
        [switch]
        $Passthru
    )

    process
    {
        # Collected, not thrown: a caught throw would also land in the caller's -ErrorVariable.
        $problems = @()
        if ($PSBoundParameters.ContainsKey('AllowedAuthenticationType'))
        {
            $problems += @(Get-HvrThumbprintError -AuthenticationType $AllowedAuthenticationType -CertificateThumbprint $CertificateThumbprint)
        }
        if ($ReplicationEnabled -and -not $PSBoundParameters.ContainsKey('AllowedAuthenticationType'))
        {
            $problems += (New-HvrErrorRecord -ErrorId 'HvrAuthenticationTypeRequired' -Category InvalidArgument -TargetObject 'ReplicationEnabled' `
                    -Message '-ReplicationEnabled $true needs -AllowedAuthenticationType.')
        }
        if ($ReplicationAllowedFromAnyServer -and -not $PSBoundParameters.ContainsKey('DefaultStorageLocation'))
        {
            $problems += (New-HvrErrorRecord -ErrorId 'HvrStorageLocationRequired' -Category InvalidArgument -TargetObject 'ReplicationAllowedFromAnyServer' `
                    -Message '-ReplicationAllowedFromAnyServer $true needs -DefaultStorageLocation.')
        }
        if ($problems.Count -gt 0)
        {
            $PSCmdlet.ThrowTerminatingError($problems[0])
        }
        $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @(
            'ReplicationEnabled', 'AllowedAuthenticationType', 'ReplicationAllowedFromAnyServer', 'CertificateThumbprint',
            'DefaultStorageLocation', 'KerberosAuthenticationPort', 'CertificateAuthenticationPort',
            'KerberosAuthenticationPortMapping', 'CertificateAuthenticationPortMapping', 'MonitoringInterval', 'MonitoringStartTime'
        )
        foreach ($computer in (Get-HvrHostName -ComputerName $ComputerName))
        {
            $hostOption = @($option)
            if ($ReplicationAllowedFromAnyServer)
            {
                # Hyper-V asks before the specific entries go; the CLI deletes them only with --force.
                $specific = @()
                if (-not $Force -and -not $WhatIfPreference)
                {
                    $listed = Invoke-HvrCli -Argument 'auth', 'list' -ComputerName $computer -Credential $Credential -TargetObject 'authorization entries'
                    if ($null -ne $listed.Error)
                    {
                        Write-HvrError -Cmdlet $PSCmdlet -ErrorRecord $listed.Error
                        continue
                    }
                    $specific = @(@($listed.Result) | Where-Object { $null -ne $_ -and $_.AllowedPrimaryServer -ne '*' })
                }
                # As in Invoke-HvrVMOperation: a host that cannot ask must leave the answer "no".
                $confirmed = $Force -or $WhatIfPreference -or $specific.Count -eq 0
                if (-not $confirmed)
                {
                    $confirmed = $PSCmdlet.ShouldContinue(('Allowing replication from any server deletes {0} authorization entries ({1}).' -f $specific.Count, (($specific | ForEach-Object { $_.AllowedPrimaryServer }) -join ', ')), 'Delete authorization entries?')
                }
                if ($confirmed)
                {
                    $hostOption += '--force'
                }
                else
                {
                    continue
                }
            }
            Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'server', 'set' -Option $hostOption -ComputerName $computer `
                -Credential $Credential -TypeName 'HvReplica.VMReplicationServer' -Target 'replication server' `
                -Action 'Change replica server settings' -Output:$Passthru
        }
    }
}
