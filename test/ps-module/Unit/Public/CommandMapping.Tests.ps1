# Every cmdlet calls the CLI command and options of docs/cli-contract.md, writes objects only when
# Hyper-V's would (Get-/Measure-, -Passthru), and changes nothing under -WhatIf.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

BeforeDiscovery {
    $script:cases = @(
        @{ Cmdlet = 'Enable-HvrVMReplication'; Parameters = @{ VMName = 'web1'; ReplicaServerName = 'replica.contoso.com'; ReplicaServerPort = 443; AuthenticationType = 'Certificate'; CertificateThumbprint = 'ABCD'; ReplicationFrequencySec = 30; RecoveryHistory = 4; VSSSnapshotFrequencyHour = 2; CompressionEnabled = $true; ExcludedVhdPath = '/vm/page.vhdx' }
            Expected = 'replication enable --vm-name=web1 --replica-server-name=replica.contoso.com --replica-server-port=443 --authentication-type=Certificate --certificate-thumbprint=ABCD --compression-enabled=true --vss-snapshot-frequency-hour=2 --recovery-history=4 --replication-frequency-sec=30 --excluded-vhd-path=/vm/page.vhdx'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Enable-HvrVMReplication'; Parameters = @{ VMName = 'web1'; AsReplica = $true; AllowedPrimaryServer = 'hv1.contoso.com' }
            Expected = 'replication enable --vm-name=web1 --as-replica --allowed-primary-server=hv1.contoso.com'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'web1'; ReplicationFrequencySec = 900; RecoveryHistory = 0; DisableVSSSnapshotReplication = $true; AutoResynchronizeIntervalEnd = [timespan]'06:00:00' }
            Expected = 'replication set --vm-name=web1 --disable-vss-snapshot-replication --recovery-history=0 --replication-frequency-sec=900 --auto-resynchronize-interval-end=21600'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'web1'; Reverse = $true; ReplicaServerName = 'hv1.contoso.com' }
            Expected = 'replication set --vm-name=web1 --replica-server-name=hv1.contoso.com --reverse'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Set-HvrVMReplication'; Parameters = @{ VMName = 'web1'; ReplicatedDiskPaths = '/vm/a.vhdx', '/vm/b.vhdx' }
            Expected = 'replication set --vm-name=web1 --replicated-disk-paths=/vm/a.vhdx --replicated-disk-paths=/vm/b.vhdx'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Remove-HvrVMReplication'; Parameters = @{ VMName = 'web1'; ReplicationRelationshipType = 'Extended' }
            Expected = 'replication remove --vm-name=web1 --replication-relationship-type=Extended'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Suspend-HvrVMReplication'; Parameters = @{ VMName = 'web1' }; Expected = 'replication suspend --vm-name=web1'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Resume-HvrVMReplication'; Parameters = @{ VMName = 'web1'; Resynchronize = $true }; Expected = 'replication resume --vm-name=web1 --resynchronize'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Resume-HvrVMReplication'; Parameters = @{ VMName = 'web1'; Continue = $true }; Expected = 'replication resume --vm-name=web1 --continue'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Stop-HvrVMReplication'; Parameters = @{ VMName = 'web1' }; Expected = 'replication stop --vm-name=web1'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Reset-HvrVMReplicationStatistics'; Parameters = @{ VMName = 'web1' }; Expected = 'replication reset-statistics --vm-name=web1'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Start-HvrVMInitialReplication'; Parameters = @{ VMName = 'web1'; DestinationPath = '/media/ir' }; Expected = 'initial start --vm-name=web1 --destination-path=/media/ir'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Stop-HvrVMInitialReplication'; Parameters = @{ VMName = 'web1' }; Expected = 'initial stop --vm-name=web1'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Import-HvrVMInitialReplication'; Parameters = @{ VMName = 'web1'; Path = '/media/ir/web1_x' }; Expected = 'initial import --vm-name=web1 --path=/media/ir/web1_x'; Type = 'HvReplica.VirtualMachine' }
        @{ Cmdlet = 'Start-HvrVMFailover'; Parameters = @{ VMName = 'web1'; Prepare = $true; Confirm = $false }; Expected = 'failover start --vm-name=web1 --prepare'; Type = 'HvReplica.VirtualMachine' }
        @{ Cmdlet = 'Start-HvrVMFailover'; Parameters = @{ VMName = 'web1'; Confirm = $false }; Expected = 'failover start --vm-name=web1'; Type = 'HvReplica.VirtualMachine' }
        @{ Cmdlet = 'Complete-HvrVMFailover'; Parameters = @{ VMName = 'web1'; Confirm = $false }; Expected = 'failover complete --vm-name=web1'; Type = 'HvReplica.VirtualMachine' }
        @{ Cmdlet = 'Stop-HvrVMFailover'; Parameters = @{ VMName = 'web1' }; Expected = 'failover stop --vm-name=web1'; Type = 'HvReplica.VirtualMachine' }
        @{ Cmdlet = 'Set-HvrVMReplicationServer'; Parameters = @{ ReplicationEnabled = $true; AllowedAuthenticationType = 'Certificate'; CertificateThumbprint = 'ABCD'; CertificateAuthenticationPort = 8443; MonitoringInterval = [timespan]'06:00:00' }
            Expected = 'server set --replication-enabled=true --allowed-authentication-type=Certificate --certificate-thumbprint=ABCD --certificate-authentication-port=8443 --monitoring-interval=21600'; Type = 'HvReplica.VMReplicationServer' }
        @{ Cmdlet = 'Set-HvrVMReplicationAuthorizationEntry'; Parameters = @{ AllowedPrimaryServer = 'hv1.contoso.com'; TrustGroup = 'blue' }
            Expected = 'auth set --allowed-primary-server=hv1.contoso.com --trust-group=blue'; Type = 'HvReplica.VMReplicationAuthorizationEntry' }
        @{ Cmdlet = 'Remove-HvrVMReplicationAuthorizationEntry'; Parameters = @{ TrustGroup = 'blue' }; Expected = 'auth remove --trust-group=blue'; Type = 'HvReplica.VMReplicationAuthorizationEntry' }
        @{ Cmdlet = 'Unregister-HvrReplicationTask'; Parameters = @{ VMName = 'web1' }; Expected = 'task unregister --vm-name=web1'; Type = 'HvReplica.ReplicationTask' }
        @{ Cmdlet = 'Unregister-HvrReplicationTask'; Parameters = @{ TaskName = 'hvreplica-web1' }; Expected = 'task unregister --task-name=hvreplica-web1'; Type = 'HvReplica.ReplicationTask' }
        @{ Cmdlet = 'Uninstall-HvrReplicationService'; Parameters = @{ Role = 'Agent'; Confirm = $false }; Expected = 'service uninstall --role=agent'; Type = 'HvReplica.ReplicationService' }
    )
    $script:outputCases = @(
        @{ Cmdlet = 'Get-HvrVMReplication'; Parameters = @{ VMName = 'web1'; ReplicationState = 'Replicating' }; Expected = 'replication get --vm-name=web1 --replication-state=Replicating'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Get-HvrVMReplication'; Parameters = @{ ReplicaServerName = 'replica.contoso.com'; ReplicationHealth = 'Critical'; ReplicationMode = 'Primary'; ReplicationRelationshipType = 'Simple'; TrustGroup = 'blue'; PrimaryServerName = 'hv1' }
            Expected = 'replication get --replica-server-name=replica.contoso.com --primary-server-name=hv1 --replication-health=Critical --replication-mode=Primary --replication-relationship-type=Simple --trust-group=blue'; Type = 'HvReplica.VMReplication' }
        @{ Cmdlet = 'Measure-HvrVMReplication'; Parameters = @{ VMName = 'web*' }; Expected = 'replication measure --vm-name=web*'; Type = 'HvReplica.VMReplicationHealth' }
        @{ Cmdlet = 'Measure-HvrVMReplication'; Parameters = @{}; Expected = 'replication measure'; Type = 'HvReplica.VMReplicationHealth' }
        @{ Cmdlet = 'Get-HvrVMSnapshot'; Parameters = @{ VMName = 'web1'; SnapshotType = 'AppConsistentReplica' }; Expected = 'recovery-point list --vm-name=web1 --snapshot-type=AppConsistentReplica'; Type = 'HvReplica.VMSnapshot' }
        @{ Cmdlet = 'Start-HvrVMFailover'; Parameters = @{ VMName = 'web1'; AsTest = $true; Confirm = $false }; Expected = 'failover start --vm-name=web1 --as-test'; Type = 'HvReplica.VirtualMachine' }
        @{ Cmdlet = 'Get-HvrVMReplicationServer'; Parameters = @{}; Expected = 'server get'; Type = 'HvReplica.VMReplicationServer' }
        @{ Cmdlet = 'New-HvrVMReplicationAuthorizationEntry'; Parameters = @{ AllowedPrimaryServer = '*.contoso.com'; ReplicaStorageLocation = '/srv/replica'; TrustGroup = 'blue' }
            Expected = 'auth add --allowed-primary-server=*.contoso.com --replica-storage-location=/srv/replica --trust-group=blue'; Type = 'HvReplica.VMReplicationAuthorizationEntry' }
        @{ Cmdlet = 'Get-HvrVMReplicationAuthorizationEntry'; Parameters = @{ TrustGroup = 'blue' }; Expected = 'auth list --trust-group=blue'; Type = 'HvReplica.VMReplicationAuthorizationEntry' }
        @{ Cmdlet = 'Register-HvrReplicationTask'; Parameters = @{ VMName = 'web1'; IntervalSec = 300 }; Expected = 'task register --vm-name=web1 --interval-sec=300'; Type = 'HvReplica.ReplicationTask' }
        @{ Cmdlet = 'Install-HvrReplicationService'; Parameters = @{ Role = 'ReplicaServer'; ServiceName = 'hvr-rs' }; Expected = 'service install --role=replica-server --service-name=hvr-rs'; Type = 'HvReplica.ReplicationService' }
    )
}

Describe 'CLI command of each cmdlet' {
    BeforeEach {
        $script:log = New-Object System.Collections.Generic.List[object]
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith {
            $log.Add(@($Argument))
            Get-HvrCannedResult -Argument $Argument
        }
    }

    Context 'cmdlets that change things' {
        It '<Cmdlet> calls "<Expected>" and writes nothing without -Passthru' -ForEach $cases {
            $output = & $Cmdlet @Parameters
            @($output).Count | Should -Be 0
            Get-HvrCliArgumentLog -Log $log | Should -Be @($Expected)
        }

        It '<Cmdlet> -Passthru writes <Type>' -ForEach $cases {
            $output = @(& $Cmdlet @Parameters -Passthru)
            $output.Count | Should -BeGreaterThan 0
            $output[0].PSObject.TypeNames[0] | Should -Be $Type
        }

        It '<Cmdlet> -WhatIf does not call the CLI' -ForEach $cases {
            $null = & $Cmdlet @Parameters -WhatIf
            $log.Count | Should -Be 0
        }
    }

    Context 'cmdlets that always write objects' {
        It '<Cmdlet> calls "<Expected>" and writes <Type>' -ForEach $outputCases {
            $output = @(& $Cmdlet @Parameters)
            Get-HvrCliArgumentLog -Log $log | Should -Be @($Expected)
            $output.Count | Should -BeGreaterThan 0
            $output[0].PSObject.TypeNames[0] | Should -Be $Type
        }
    }

    Context 'several names and hosts' {
        It 'calls the CLI once per VM name, in order' {
            Suspend-HvrVMReplication -VMName 'a', 'b', 'c'
            Get-HvrCliArgumentLog -Log $log | Should -Be @('replication suspend --vm-name=a', 'replication suspend --vm-name=b', 'replication suspend --vm-name=c')
        }

        It 'runs once per host given with -ComputerName' {
            Get-HvrVMReplication -ComputerName 'hv-a', 'hv-b' | Out-Null
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'hv-a' }
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'hv-b' }
        }
    }

    Context 'Test-HvrVMReplicationConnection' {
        It 'writes Hyper-V''s sentence on success' {
            $text = Test-HvrVMReplicationConnection -ReplicaServerName 'replica.contoso.com' -ReplicaServerPort 443 -AuthenticationType Certificate -CertificateThumbprint 'ABCD' -BypassProxyServer $true
            $text | Should -BeExactly 'The connection to the specified Replica server with the specified parameters was successful.'
            Get-HvrCliArgumentLog -Log $log | Should -Be @('connection test --replica-server-name=replica.contoso.com --replica-server-port=443 --authentication-type=Certificate --certificate-thumbprint=ABCD --bypass-proxy-server=true')
        }

        It 'takes its parameters by position as Hyper-V does' {
            $null = Test-HvrVMReplicationConnection 'replica.contoso.com' 80 Kerberos
            Get-HvrCliArgumentLog -Log $log | Should -Be @('connection test --replica-server-name=replica.contoso.com --replica-server-port=80 --authentication-type=Kerberos')
        }
    }

    Context 'deprecated parameters' {
        It 'warns about EnableWriteOrderPreservationAcrossDisks and does not send it' {
            Enable-HvrVMReplication -VMName web1 -ReplicaServerName r.contoso.com -ReplicaServerPort 80 -AuthenticationType Kerberos -EnableWriteOrderPreservationAcrossDisks $false -WarningVariable warnings -WarningAction SilentlyContinue
            $warnings | Should -HaveCount 1
            (Get-HvrCliArgumentLog -Log $log)[0] | Should -Not -Match 'write-order'
        }
    }
}
