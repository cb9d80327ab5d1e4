BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'ConvertTo-HvrOutputObject' {
    Context 'a VMReplication' {
        BeforeAll {
            $script:replication = New-HvrTestObject -Fixture 'vm-replication' -TypeName 'HvReplica.VMReplication'
        }

        It 'carries the PSTypeName that selects the view and the aliases' {
            $replication.PSObject.TypeNames[0] | Should -Be 'HvReplica.VMReplication'
        }

        It 'turns names into Hyper-V enums with Hyper-V numbers' {
            $replication.ReplicationState | Should -BeOfType [HvReplica.VMReplicationState]
            [int]$replication.ReplicationState | Should -Be 4
            [int]$replication.ReplicationHealth | Should -Be 1
            [int]$replication.ReplicationMode | Should -Be 1
            [int]$replication.AuthenticationType | Should -Be 2
            $replication.ReplicationState -eq 'Replicating' | Should -BeTrue
        }

        It 'exposes Hyper-V alias properties' {
            $replication.State | Should -Be 'Replicating'
            $replication.Health | Should -Be 'Normal'
            $replication.Mode | Should -Be 'Primary'
            $replication.FrequencySec | Should -Be 300
            $replication.PrimaryServer | Should -Be 'hv1.contoso.com'
            $replication.ReplicaServer | Should -Be 'replica.contoso.com'
            $replication.ReplicaPort | Should -Be 443
            $replication.AuthType | Should -Be 'Certificate'
            $replication.Relationship | Should -Be 'Simple'
            $replication.Name | Should -Be 'web1'
        }

        It 'converts dates to local DateTime, seconds to TimeSpan, ids to Guid' {
            $replication.LastReplicationTime | Should -BeOfType [datetime]
            $replication.LastReplicationTime.ToUniversalTime() | Should -Be ([datetime]::new(2026, 11, 25, 11, 40, 5, 250, [DateTimeKind]::Utc))
            $replication.LastReplicationTime.Kind | Should -Be 'Local'
            $replication.AutoResynchronizeIntervalStart | Should -Be ([timespan]'18:30:00')
            $replication.VMId | Should -Be ([guid]'3f2a8c1e-5d4b-4e7a-9c21-0b6d8e4f7a10')
            $replication.InitialReplicationStartTime | Should -BeNullOrEmpty
        }

        It 'types nested disks' {
            $replication.ReplicatedDisks[0].PSObject.TypeNames[0] | Should -Be 'HvReplica.HardDiskDrive'
            $replication.ExcludedDisks[0].Path | Should -Be 'D:\VMs\web1\pagefile.vhdx'
        }

        It 'renders the default table with Hyper-V''s columns' {
            $header = ($replication | Format-Table | Out-String -Width 250).Split("`n") | Where-Object { $_ -match 'VMName' } | Select-Object -First 1
            $columns = -split $header
            $columns | Should -Be @('VMName', 'State', 'Health', 'Mode', 'FrequencySec', 'PrimaryServer', 'ReplicaServer', 'ReplicaPort', 'AuthType', 'Relationship')
        }
    }

    Context 'a VMReplicationHealth' {
        BeforeAll {
            $script:health = New-HvrTestObject -Fixture 'vm-replication-health' -TypeName 'HvReplica.VMReplicationHealth'
        }

        It 'has the statistics with their types' {
            $health.AverageReplicationLatency | Should -Be ([timespan]::FromSeconds(1.5))
            $health.LastReplicationType | Should -Be 'Regular'
            $health.ReplicationHealthDetails | Should -HaveCount 1
            $health.CurrentTask[0].PSObject.TypeNames[0] | Should -Be 'HvReplica.VMCurrentTask'
            $health.PReplSize | Should -Be 1048576
            $health.AvgReplSize | Should -Be 5242880
        }

        It 'renders Hyper-V''s columns with sizes in MB' {
            $lines = ($health | Format-Table | Out-String -Width 250).Split("`n") | Where-Object { $_.Trim() }
            -split $lines[0] | Should -Be @('VMName', 'State', 'Health', 'LReplTime', 'PReplSize(M)', 'AvgLatency', 'AvgReplSize(M)', 'Relationship')
            $lines[2] | Should -Match '1[.,]00'
            $lines[2] | Should -Match '5[.,]00'
        }
    }

    Context 'a VMReplicationServer' {
        It 'converts port mappings, entries, status and shows Hyper-V''s columns' {
            $server = New-HvrTestObject -Fixture 'replication-server' -TypeName 'HvReplica.VMReplicationServer'
            $server.CertificateAuthenticationPortMapping | Should -BeOfType [hashtable]
            $server.CertificateAuthenticationPortMapping['node1.contoso.com'] | Should -Be 8443
            $server.AuthorizationEntries[0].AllowedPS | Should -Be 'hv1.contoso.com'
            $server.OperationalStatus[0] | Should -Be ([HvReplica.VMReplicationServerOperationalStatus]::Ok)
            $server.MonitoringInterval | Should -Be ([timespan]::FromHours(12))
            $server.AllowAnyServer | Should -BeFalse
            $lines = ($server | Format-Table | Out-String -Width 250).Split("`n") | Where-Object { $_.Trim() }
            -split $lines[0] | Should -Be @('RepEnabled', 'AuthType', 'KerbAuthPort', 'CertAuthPort', 'AllowAnyServer')
            $lines[2] | Should -Match '^True\s+Cert\s+80\s+443\s+False'
        }
    }

    Context 'an authorization entry' {
        It 'shows AllowedPS StorageLoc TrustGroup' {
            $entry = New-HvrTestObject -Fixture 'authorization-entry' -TypeName 'HvReplica.VMReplicationAuthorizationEntry'
            $lines = ($entry | Format-Table | Out-String -Width 250).Split("`n") | Where-Object { $_.Trim() }
            -split $lines[0] | Should -Be @('AllowedPS', 'StorageLoc', 'TrustGroup')
        }
    }

    Context 'results that break the contract' {
        It 'refuses a missing property' {
            $raw = Get-HvrFixture -Name 'vm-replication'
            $raw.PSObject.Properties.Remove('ReplicationHealth')
            $thrown = $null
            try { InModuleScope HvReplica.Core -Parameters @{ Raw = $raw } { ConvertTo-HvrOutputObject -InputObject $Raw -TypeName 'HvReplica.VMReplication' } }
            catch { $thrown = $_ }
            $thrown.FullyQualifiedErrorId | Should -BeExactly 'HvrCliInvalidResult'
            $thrown.ErrorDetails.Message | Should -Match 'ReplicationHealth'
        }

        It 'refuses an enum name Hyper-V does not have' {
            $raw = Get-HvrFixture -Name 'vm-replication'
            $raw.ReplicationState = 'Syncing'
            $thrown = $null
            try { InModuleScope HvReplica.Core -Parameters @{ Raw = $raw } { ConvertTo-HvrOutputObject -InputObject $Raw -TypeName 'HvReplica.VMReplication' } }
            catch { $thrown = $_ }
            $thrown.FullyQualifiedErrorId | Should -BeExactly 'HvrCliInvalidResult'
            $thrown.CategoryInfo.Category | Should -Be 'InvalidResult'
        }

        It 'refuses a date without a time zone' {
            $raw = Get-HvrFixture -Name 'vm-snapshot'
            $raw.CreationTime = '2026-11-25 10:00:00'
            { InModuleScope HvReplica.Core -Parameters @{ Raw = $raw } { ConvertTo-HvrOutputObject -InputObject $Raw -TypeName 'HvReplica.VMSnapshot' } } |
                Should -Throw -ErrorId 'HvrCliInvalidResult'
        }

        It 'keeps properties the CLI added beyond the contract' {
            $raw = Get-HvrFixture -Name 'authorization-entry'
            $raw | Add-Member -NotePropertyName 'CertificateSubject' -NotePropertyValue 'CN=hv1'
            $entry = InModuleScope HvReplica.Core -Parameters @{ Raw = $raw } { ConvertTo-HvrOutputObject -InputObject $Raw -TypeName 'HvReplica.VMReplicationAuthorizationEntry' }
            $entry.CertificateSubject | Should -Be 'CN=hv1'
        }
    }
}
