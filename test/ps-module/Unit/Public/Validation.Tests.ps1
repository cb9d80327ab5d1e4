# Hyper-V's validation rules (reference/hyperv-replica.md section 2): refused before the CLI is called.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
    $script:enable = @{ VMName = 'web1'; ReplicaServerName = 'replica.contoso.com'; ReplicaServerPort = 80; AuthenticationType = 'Kerberos' }
}

BeforeDiscovery {
    $script:bindingRefusals = @(
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'ReplicationFrequencySec'; Value = 60 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'ReplicationFrequencySec'; Value = 0 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'ReplicationFrequencySec'; Value = 901 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'RecoveryHistory'; Value = 25 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'RecoveryHistory'; Value = -1 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'VSSSnapshotFrequencyHour'; Value = 0 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'VSSSnapshotFrequencyHour'; Value = 13 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'ReplicaServerPort'; Value = 0 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'ReplicaServerPort'; Value = 65536 }
        @{ Cmdlet = 'Set-HvrVMReplication'; Name = 'ReplicationFrequencySec'; Value = 120 }
        @{ Cmdlet = 'Set-HvrVMReplication'; Name = 'RecoveryHistory'; Value = 30 }
        @{ Cmdlet = 'Set-HvrVMReplication'; Name = 'VSSSnapshotFrequencyHour'; Value = 24 }
        @{ Cmdlet = 'Set-HvrVMReplication'; Name = 'ReplicaServerPort'; Value = 70000 }
        @{ Cmdlet = 'Test-HvrVMReplicationConnection'; Name = 'ReplicaServerPort'; Value = 0 }
        @{ Cmdlet = 'Set-HvrVMReplicationServer'; Name = 'CertificateAuthenticationPort'; Value = 65536 }
        @{ Cmdlet = 'Set-HvrVMReplicationServer'; Name = 'KerberosAuthenticationPort'; Value = 0 }
        @{ Cmdlet = 'Set-HvrVMReplicationServer'; Name = 'MonitoringInterval'; Value = [timespan]'00:30:00' }
        @{ Cmdlet = 'Set-HvrVMReplicationServer'; Name = 'MonitoringInterval'; Value = [timespan]'8.00:00:00' }
        @{ Cmdlet = 'Set-HvrVMReplicationServer'; Name = 'MonitoringStartTime'; Value = [timespan]'1.00:00:00' }
        @{ Cmdlet = 'Register-HvrReplicationTask'; Name = 'IntervalSec'; Value = 60 }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Name = 'AuthenticationType'; Value = 'CertificateAndKerberos' }
    )
    $script:bindingAcceptances = @(
        @{ Name = 'ReplicationFrequencySec'; Value = 30 }, @{ Name = 'ReplicationFrequencySec'; Value = 300 }, @{ Name = 'ReplicationFrequencySec'; Value = 900 }
        @{ Name = 'RecoveryHistory'; Value = 0 }, @{ Name = 'RecoveryHistory'; Value = 24 }
        @{ Name = 'ReplicaServerPort'; Value = 1 }, @{ Name = 'ReplicaServerPort'; Value = 65535 }
    )
}

Describe 'Validation' {
    BeforeEach {
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith { Get-HvrCannedResult -Argument $Argument }
    }

    Context 'ranges and sets checked at binding' {
        It '<Cmdlet> refuses -<Name> <Value>' -ForEach $bindingRefusals {
            $parameters = @{ $Name = $Value }
            switch ($Cmdlet)
            {
                'Enable-HvrVMReplication' { foreach ($key in $enable.Keys) { if (-not $parameters.ContainsKey($key)) { $parameters[$key] = $enable[$key] } } }
                'Set-HvrVMReplication' { $parameters['VMName'] = 'web1' }
                'Test-HvrVMReplicationConnection' { $parameters += @{ ReplicaServerName = 'r.contoso.com'; AuthenticationType = 'Kerberos' } }
                'Register-HvrReplicationTask' { $parameters['VMName'] = 'web1' }
            }
            { & $Cmdlet @parameters } | Should -Throw -ErrorId 'ParameterArgument*'
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 0 -Exactly
        }

        It 'Enable-HvrVMReplication accepts -<Name> <Value>' -ForEach $bindingAcceptances {
            $parameters = @{} + $enable
            $parameters[$Name] = $Value
            & Enable-HvrVMReplication @parameters
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly
        }
    }

    Context 'certificate thumbprint exactly with Certificate' {
        It '<Cmdlet> <Case>' -ForEach @(
            @{ Cmdlet = 'Enable-HvrVMReplication'; Case = 'needs a thumbprint with Certificate'; Parameters = @{ VMName = 'w'; ReplicaServerName = 'r.contoso.com'; ReplicaServerPort = 443; AuthenticationType = 'Certificate' }; ErrorId = 'HvrThumbprintRequired' }
            @{ Cmdlet = 'Enable-HvrVMReplication'; Case = 'refuses a thumbprint with Kerberos'; Parameters = @{ VMName = 'w'; ReplicaServerName = 'r.contoso.com'; ReplicaServerPort = 80; AuthenticationType = 'Kerberos'; CertificateThumbprint = 'AB' }; ErrorId = 'HvrThumbprintNotAllowed' }
            @{ Cmdlet = 'Set-HvrVMReplication'; Case = 'needs a thumbprint when switching to Certificate'; Parameters = @{ VMName = 'w'; AuthenticationType = 'Certificate' }; ErrorId = 'HvrThumbprintRequired' }
            @{ Cmdlet = 'Test-HvrVMReplicationConnection'; Case = 'needs a thumbprint with Certificate'; Parameters = @{ ReplicaServerName = 'r.contoso.com'; ReplicaServerPort = 443; AuthenticationType = 'Certificate' }; ErrorId = 'HvrThumbprintRequired' }
            @{ Cmdlet = 'Set-HvrVMReplicationServer'; Case = 'needs a thumbprint with CertificateAndKerberos'; Parameters = @{ ReplicationEnabled = $true; AllowedAuthenticationType = 'CertificateAndKerberos' }; ErrorId = 'HvrThumbprintRequired' }
            @{ Cmdlet = 'Set-HvrVMReplicationServer'; Case = 'refuses a thumbprint with Kerberos'; Parameters = @{ AllowedAuthenticationType = 'Kerberos'; CertificateThumbprint = 'AB' }; ErrorId = 'HvrThumbprintNotAllowed' }
        ) {
            { & $Cmdlet @Parameters } | Should -Throw -ErrorId "$ErrorId,$Cmdlet"
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 0 -Exactly
        }

        It 'lets Enable-HvrVMReplication -AsReplica go without any authentication' {
            Enable-HvrVMReplication -VMName w -AsReplica
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly
        }
    }

    Context 'start times within 7 days' {
        It '<Cmdlet> refuses -<Name> <Description>' -ForEach @(
            @{ Cmdlet = 'Start-HvrVMInitialReplication'; Name = 'InitialReplicationStartTime'; Description = 'in the past'; Hours = -1; Extra = @{} }
            @{ Cmdlet = 'Start-HvrVMInitialReplication'; Name = 'InitialReplicationStartTime'; Description = '8 days ahead'; Hours = 192; Extra = @{} }
            @{ Cmdlet = 'Set-HvrVMReplication'; Name = 'InitialReplicationStartTime'; Description = 'in the past'; Hours = -24; Extra = @{} }
            @{ Cmdlet = 'Set-HvrVMReplication'; Name = 'InitialReplicationStartTime'; Description = '7 days and an hour ahead'; Hours = 169; Extra = @{} }
            @{ Cmdlet = 'Resume-HvrVMReplication'; Name = 'ResynchronizeStartTime'; Description = 'in the past'; Hours = -2; Extra = @{ Resynchronize = $true } }
            @{ Cmdlet = 'Resume-HvrVMReplication'; Name = 'ResynchronizeStartTime'; Description = '10 days ahead'; Hours = 240; Extra = @{ Resynchronize = $true } }
        ) {
            $parameters = @{ VMName = 'web1'; $Name = (Get-Date).AddHours($Hours) } + $Extra
            { & $Cmdlet @parameters } | Should -Throw -ErrorId "HvrStartTimeOutOfRange,$Cmdlet"
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 0 -Exactly
        }

        It '<Cmdlet> accepts -<Name> 3 days ahead and sends it in UTC' -ForEach @(
            @{ Cmdlet = 'Start-HvrVMInitialReplication'; Name = 'InitialReplicationStartTime'; Extra = @{} }
            @{ Cmdlet = 'Set-HvrVMReplication'; Name = 'InitialReplicationStartTime'; Extra = @{} }
            @{ Cmdlet = 'Resume-HvrVMReplication'; Name = 'ResynchronizeStartTime'; Extra = @{ Resynchronize = $true } }
        ) {
            $when = (Get-Date).AddDays(3)
            $parameters = @{ VMName = 'web1'; $Name = $when } + $Extra
            & $Cmdlet @parameters
            $expected = '--{0}={1}' -f ($Name -creplace '(?<=[a-z])(?=[A-Z])', '-').ToLowerInvariant(), $when.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ')
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $Argument -contains $expected }
        }
    }

    Context 'combinations Hyper-V refuses' {
        It '<Case>' -ForEach @(
            @{ Case = 'VSS points need recovery history (Enable)'; Cmdlet = 'Enable-HvrVMReplication'; Parameters = @{ VMName = 'w'; ReplicaServerName = 'r.contoso.com'; ReplicaServerPort = 80; AuthenticationType = 'Kerberos'; VSSSnapshotFrequencyHour = 4 }; ErrorId = 'HvrVssNeedsRecoveryHistory' }
            @{ Case = 'VSS points with recovery history 0 (Set)'; Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'w'; VSSSnapshotFrequencyHour = 4; RecoveryHistory = 0 }; ErrorId = 'HvrVssNeedsRecoveryHistory' }
            @{ Case = 'VSS points while disabling them (Set)'; Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'w'; VSSSnapshotFrequencyHour = 4; DisableVSSSnapshotReplication = $true }; ErrorId = 'HvrVssNeedsRecoveryHistory' }
            @{ Case = 'nothing to change (Set)'; Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'w' }; ErrorId = 'HvrNothingToChange' }
            @{ Case = 'UseBackup needs a start time (Set)'; Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'w'; UseBackup = $true }; ErrorId = 'HvrUseBackupNeedsStartTime' }
            @{ Case = 'Reverse with a disk list (Set)'; Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'w'; Reverse = $true; ReplicatedDiskPaths = '/a.vhdx' }; ErrorId = 'HvrReverseWithDisks' }
            @{ Case = 'AsReplica with another setting (Set)'; Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'w'; AsReplica = $true; RecoveryHistory = 2 }; ErrorId = 'HvrAsReplicaExclusive' }
            @{ Case = 'export with a start time (Start-IR)'; Cmdlet = 'Start-HvrVMInitialReplication'; Parameters = @{ VMName = 'w'; DestinationPath = '/m'; UseBackup = $true }; ErrorId = 'HvrDestinationPathConflict' }
            @{ Case = 'resync start time without -Resynchronize (Resume)'; Cmdlet = 'Resume-HvrVMReplication'; Parameters = @{ VMName = 'w'; ResynchronizeStartTime = (Get-Date).AddHours(1) }; ErrorId = 'HvrResyncStartTimeNeedsResynchronize' }
            @{ Case = 'enabling a replica server without an authentication type'; Cmdlet = 'Set-HvrVMReplicationServer'; Parameters = @{ ReplicationEnabled = $true }; ErrorId = 'HvrAuthenticationTypeRequired' }
            @{ Case = 'any server without a storage location'; Cmdlet = 'Set-HvrVMReplicationServer'; Parameters = @{ ReplicationAllowedFromAnyServer = $true }; ErrorId = 'HvrStorageLocationRequired' }
            @{ Case = 'a wildcard that is not the first label'; Cmdlet = 'New-HvrVMReplicationAuthorizationEntry'; Parameters = @{ AllowedPrimaryServer = 'hv*.contoso.com'; ReplicaStorageLocation = '/r'; TrustGroup = 'g' }; ErrorId = 'HvrInvalidAllowedPrimaryServer' }
        ) {
            { & $Cmdlet @Parameters } | Should -Throw -ErrorId "$ErrorId,$Cmdlet"
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 0 -Exactly
        }

        It 'accepts "*" and "*.contoso.com" as allowed primary servers' {
            New-HvrVMReplicationAuthorizationEntry -AllowedPrimaryServer '*' -ReplicaStorageLocation '/r' -TrustGroup 'DEFAULT' | Out-Null
            New-HvrVMReplicationAuthorizationEntry -AllowedPrimaryServer '*.contoso.com' -ReplicaStorageLocation '/r' -TrustGroup 'g' | Out-Null
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 2 -Exactly
        }
    }
}
