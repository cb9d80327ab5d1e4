# Issue #8, first half: the module against the REAL hvreplica CLI, nothing mocked. Two hosts on this
# machine (two state directories in a temporary folder, paired with generated certificates), a replica
# server process on a free loopback port, a file-host VM with real VHDX disks; the module configures the
# replica server, enables replication, starts the initial replication and reads Get-/Measure-
# HvrVMReplication on each side while the guest writes and delta cycles run. The module reaches each
# "host" through HVR_STATE_DIR, set for the duration of each call (Invoke-HvrOnHost).
# The It blocks are one scenario, in order: a later one builds on what the earlier ones did.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../TestHelpers.ps1')
    Assert-HvrIntegrationPrerequisite
    Import-HvrTestModule

    $script:pair = New-HvrTestHostPair -Prefix 'hvr-it-replication'
    $script:port = Get-HvrFreeTcpPort
    $script:storage = Join-Path -Path $pair.Root -ChildPath 'replica-storage'
    $script:server = $null
    $script:deltaCycles = 3
    $script:cycles = @()

    # The file-host VM: two dynamic VHDX disks; the guest has written before replication is enabled.
    $null = Invoke-HvrTestCli -StateDir $pair.PrimaryState -Argument 'vm', 'new', '--name=vm1', '--disk=16MiB', '--disk=8MiB', '--block-size=1MiB'
    $null = Invoke-HvrTestCli -StateDir $pair.PrimaryState -Argument 'vm', 'start', 'vm1'
    $null = Invoke-HvrTestCli -StateDir $pair.PrimaryState -Argument 'workload', '--vm=vm1', '--seed=1', '--bytes=4MiB'
}

AfterAll {
    Stop-HvrTestReplicaServer -Process $server
    if ($pair -and (Test-Path -LiteralPath $pair.Root)) { Remove-Item -LiteralPath $pair.Root -Recurse -Force }
}

Describe 'Replication between two hosts through the module and the real CLI' {
    It 'configures the replica host with Set-HvrVMReplicationServer and New-HvrVMReplicationAuthorizationEntry' {
        $configured = Invoke-HvrOnHost -StateDir $pair.ReplicaState {
            Set-HvrVMReplicationServer -ReplicationEnabled $true -AllowedAuthenticationType Certificate `
                -CertificateThumbprint $pair.ReplicaThumbprint -CertificateAuthenticationPort $port -Passthru
        }
        $entry = Invoke-HvrOnHost -StateDir $pair.ReplicaState {
            New-HvrVMReplicationAuthorizationEntry -AllowedPrimaryServer $pair.PrimaryName -ReplicaStorageLocation $storage -TrustGroup 'integration'
        }
        $configured.PSObject.TypeNames | Should -Contain 'HvReplica.VMReplicationServer'
        $configured.RepEnabled | Should -BeTrue
        $configured.AuthType | Should -Be 'Certificate'
        $configured.CertAuthPort | Should -Be $port
        $configured.CertificateThumbprint | Should -Be $pair.ReplicaThumbprint
        $entry.PSObject.TypeNames | Should -Contain 'HvReplica.VMReplicationAuthorizationEntry'
        $entry.AllowedPS | Should -Be $pair.PrimaryName
        $entry.StorageLoc | Should -Be $storage
        $entry.TrustGroup | Should -Be 'integration'
    }

    It 'runs the replica server on a free port and Get-HvrVMReplicationServer shows it with its entry' {
        $script:server = Start-HvrTestReplicaServer -StateDir $pair.ReplicaState
        $shown = Invoke-HvrOnHost -StateDir $pair.ReplicaState { Get-HvrVMReplicationServer }
        $shown.ReplicationEnabled | Should -BeTrue
        $shown.CertificateAuthenticationPort | Should -Be $port
        $shown.ReplicationAllowedFromAnyServer | Should -BeFalse
        @($shown.AuthorizationEntries).AllowedPrimaryServer | Should -Be @($pair.PrimaryName)
        @($shown.OperationalStatus) | Should -Not -Contain 'Stopped'
    }

    It 'reaches the replica server from the primary with Test-HvrVMReplicationConnection' {
        $answer = Invoke-HvrOnHost -StateDir $pair.PrimaryState {
            Test-HvrVMReplicationConnection -ReplicaServerName 'localhost' -ReplicaServerPort $port -AuthenticationType Certificate `
                -CertificateThumbprint $pair.PrimaryThumbprint
        }
        $answer | Should -Be 'The connection to the specified Replica server with the specified parameters was successful.'
    }

    It 'enables replication of the file-host VM with Enable-HvrVMReplication' {
        $script:enabledAt = [DateTime]::UtcNow
        $enabled = Invoke-HvrOnHost -StateDir $pair.PrimaryState {
            Enable-HvrVMReplication -VMName 'vm1' -ReplicaServerName 'localhost' -ReplicaServerPort $port -AuthenticationType Certificate `
                -CertificateThumbprint $pair.PrimaryThumbprint -ReplicationFrequencySec 30 -RecoveryHistory 4 -Passthru
        }
        @($enabled).Count | Should -Be 1
        $enabled.PSObject.TypeNames | Should -Contain 'HvReplica.VMReplication'
        $enabled.Name | Should -Be 'vm1'
        $enabled.Mode | Should -Be ([HvReplica.VMReplicationMode]::Primary)
        $enabled.State | Should -Be ([HvReplica.VMReplicationState]::ReadyForInitialReplication)
        $enabled.Health | Should -Be ([HvReplica.VMReplicationHealthState]::Warning)
        $enabled.PrimaryServer | Should -Be $pair.PrimaryName
        $enabled.ReplicaServer | Should -Be 'localhost'
        $enabled.ReplicaPort | Should -Be $port
        $enabled.AuthType | Should -Be 'Certificate'
        $enabled.FrequencySec | Should -Be 30
        $enabled.RecoveryHistory | Should -Be 4
        @($enabled.ReplicatedDisks).Count | Should -Be 2
        $enabled.LastReplicationTime | Should -BeNullOrEmpty
    }

    It 'refuses to enable the same VM twice, as Hyper-V does, with the CLI''s error id' {
        $failure = Invoke-HvrOnHost -StateDir $pair.PrimaryState {
            Enable-HvrVMReplication -VMName 'vm1' -ReplicaServerName 'localhost' -ReplicaServerPort $port -AuthenticationType Certificate `
                -CertificateThumbprint $pair.PrimaryThumbprint -ErrorAction SilentlyContinue -ErrorVariable refused
            $refused
        }
        @($failure).Count | Should -Be 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'ERR_ALREADY_EXISTS,*'
        $failure[0].TargetObject | Should -Be 'vm1'
    }

    It 'copies the VM to the replica with Start-HvrVMInitialReplication' {
        # As Hyper-V's, the cmdlet returns once the copy has started; Get-HvrVMReplication shows it finish.
        $started = Invoke-HvrOnHost -StateDir $pair.PrimaryState { Start-HvrVMInitialReplication -VMName 'vm1' -Passthru }
        $started.State | Should -BeIn @([HvReplica.VMReplicationState]::InitialReplicationInProgress, [HvReplica.VMReplicationState]::Replicating)
        $started.Mode | Should -Be ([HvReplica.VMReplicationMode]::Primary)
        $done = Wait-HvrTestInitialReplication -StateDir $pair.PrimaryState -VMName 'vm1'
        $done.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $done.LastReplicationTime | Should -BeOfType [datetime]
        $done.LastReplicationTime.ToUniversalTime() | Should -BeGreaterOrEqual $enabledAt.AddSeconds(-1)
    }

    It 'replicates the guest''s writes in delta cycles (hvreplica workload, then hvreplica replicate)' {
        for ($cycle = 1; $cycle -le $deltaCycles; $cycle++)
        {
            $null = Invoke-HvrTestCli -StateDir $pair.PrimaryState -Argument 'workload', '--vm=vm1', "--seed=$(10 + $cycle)", '--bytes=1MiB'
            $script:cycles += Invoke-HvrTestCli -StateDir $pair.PrimaryState -Argument 'replicate', '--vm=vm1'
        }
        $cycles.Kind | Should -Be @('delta', 'delta', 'delta')
        $cycles.Sequence | Should -Be @(1, 2, 3)
        $cycles | ForEach-Object { $_.LogBytes | Should -BeGreaterThan 0 }
    }

    It 'shows the primary side with Get-HvrVMReplication: Replicating, Normal, Primary' {
        $shown = Invoke-HvrOnHost -StateDir $pair.PrimaryState { Get-HvrVMReplication -VMName 'vm1' }
        @($shown).Count | Should -Be 1
        $shown.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $shown.Health | Should -Be ([HvReplica.VMReplicationHealthState]::Normal)
        $shown.Mode | Should -Be ([HvReplica.VMReplicationMode]::Primary)
        $shown.Relationship | Should -Be ([HvReplica.VMReplicationRelationshipType]::Simple)
        $shown.PrimaryServer | Should -Be $pair.PrimaryName
        $shown.ReplicaServer | Should -Be 'localhost'
        $shown.CurrentReplicaServerName | Should -Be 'localhost'
        $shown.CertificateThumbprint | Should -Be $pair.PrimaryThumbprint
        $shown.LastReplicationTime | Should -BeOfType [datetime]
        $shown.LastReplicationTime.ToUniversalTime() | Should -BeGreaterOrEqual ([DateTime]$cycles[-1].StartTime).ToUniversalTime()
    }

    It 'finds it with the filters of Get-HvrVMReplication and without a name' {
        $all = Invoke-HvrOnHost -StateDir $pair.PrimaryState { Get-HvrVMReplication }
        $all.VMName | Should -Be @('vm1')
        $byState = Invoke-HvrOnHost -StateDir $pair.PrimaryState { Get-HvrVMReplication -ReplicationState Replicating -ReplicationMode Primary }
        $byState.VMName | Should -Be @('vm1')
        $none = Invoke-HvrOnHost -StateDir $pair.PrimaryState { Get-HvrVMReplication -VMName 'vm*' -ReplicationHealth Critical }
        @($none).Count | Should -Be 0
    }

    It 'measures the primary side with Measure-HvrVMReplication' {
        $measured = Invoke-HvrOnHost -StateDir $pair.PrimaryState { Get-HvrVMReplication -VMName 'vm1' | Measure-HvrVMReplication }
        @($measured).Count | Should -Be 1
        $measured.PSObject.TypeNames | Should -Contain 'HvReplica.VMReplicationHealth'
        $measured.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $measured.Health | Should -Be ([HvReplica.VMReplicationHealthState]::Normal)
        $measured.Mode | Should -Be ([HvReplica.VMReplicationMode]::Primary)
        # The initial replication and every delta cycle, none failed or missed, nothing left to send.
        $measured.SuccessfulReplicationCount | Should -Be (1 + $deltaCycles)
        $measured.ReplicationErrors | Should -Be 0
        $measured.MissedReplicationCount | Should -Be 0
        $measured.PReplSize | Should -Be 0
        $measured.InitialReplicationSize | Should -BeGreaterThan 0
        $measured.AvgReplSize | Should -BeGreaterThan 0
        $measured.MaximumReplicationSize | Should -BeGreaterOrEqual $measured.AverageReplicationSize
        $measured.MaximumReplicationSize | Should -BeGreaterOrEqual ($cycles | Measure-Object -Property LogBytes -Maximum).Maximum
        $measured.AvgLatency | Should -BeOfType [timespan]
        $measured.MaximumReplicationLatency | Should -BeGreaterOrEqual $measured.AverageReplicationLatency
        $measured.LastReplicationType | Should -Be 'Regular'
        $measured.FailedOverReplicationType | Should -Be 'None'
        $measured.LReplTime | Should -BeOfType [datetime]
        $measured.MonitoringStartTime | Should -BeLessOrEqual $measured.MonitoringEndTime
        @($measured.ReplicationHealthDetails).Count | Should -Be 0
        @($measured.CurrentTask).Count | Should -Be 0
    }

    It 'shows the replica side with Get-HvrVMReplication: Replicating, Normal, Replica' {
        $shown = Invoke-HvrOnHost -StateDir $pair.ReplicaState { Get-HvrVMReplication -VMName 'vm1' }
        @($shown).Count | Should -Be 1
        $shown.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $shown.Health | Should -Be ([HvReplica.VMReplicationHealthState]::Normal)
        $shown.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
        $shown.Relationship | Should -Be ([HvReplica.VMReplicationRelationshipType]::Simple)
        $shown.PrimaryServer | Should -Be $pair.PrimaryName
        $shown.AllowedPrimaryServer | Should -Be $pair.PrimaryName
        $shown.LastReplicationTime | Should -BeOfType [datetime]
    }

    It 'measures the replica side with Measure-HvrVMReplication' {
        $measured = Invoke-HvrOnHost -StateDir $pair.ReplicaState { Measure-HvrVMReplication -VMName 'vm1' }
        @($measured).Count | Should -Be 1
        $measured.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $measured.Health | Should -Be ([HvReplica.VMReplicationHealthState]::Normal)
        $measured.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
        $measured.LastReplicationTime | Should -BeOfType [datetime]
        $measured.ReplicationErrors | Should -Be 0
    }
    It 'removes replication on the replica with Remove-HvrVMReplication: the VM stays, with the replicated content, as a plain VM' {
        # The guest has not written since the last cycle: the primary's disks hold what the replica acknowledged.
        $want = @(Get-HvrTestVmContent -StateDir $pair.PrimaryState -Name 'vm1' -WorkDir $pair.Root)
        $removed = Invoke-HvrOnHost -StateDir $pair.ReplicaState { Remove-HvrVMReplication -VMName 'vm1' -Confirm:$false -Passthru }
        $removed.PSObject.TypeNames | Should -Contain 'HvReplica.VMReplication'
        $removed.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
        @(Invoke-HvrOnHost -StateDir $pair.ReplicaState { Get-HvrVMReplication }).Count | Should -Be 0
        $vms = (Invoke-HvrTestCli -StateDir $pair.ReplicaState -Argument 'vm', 'list').vms
        @($vms).name | Should -Be @('vm1')
        $vms[0].isReplica | Should -BeFalse
        @(Get-HvrTestVmContent -StateDir $pair.ReplicaState -Name 'vm1' -WorkDir $pair.Root) | Should -Be $want
    }

    It 'refuses the old primary''s next cycle with ERR_REPLICATION_REMOVED, and removing again says it was removed' {
        $refused = Invoke-HvrRefusedCycle -StateDir $pair.PrimaryState -Seed 40
        $refused.Message | Should -Match "replication of VM 'vm1' was removed on replica server .*Remove-HvrVMReplication vm1"
        $refused.Relationship.State | Should -Be ([HvReplica.VMReplicationState]::Error)
        $failure = Invoke-HvrOnHost -StateDir $pair.ReplicaState {
            Remove-HvrVMReplication -VMName 'vm1' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable notThere
            $notThere
        }
        @($failure).Count | Should -Be 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'ERR_REPLICATION_NOT_ENABLED,*'
        $failure[0].Exception.Message | Should -Match 'already removed on this host'
    }

    It 'replicates again after Remove-HvrVMReplication on the primary and a new Enable-HvrVMReplication' {
        Invoke-HvrOnHost -StateDir $pair.PrimaryState { Remove-HvrVMReplication -VMName 'vm1' -Confirm:$false }
        @(Invoke-HvrOnHost -StateDir $pair.PrimaryState { Get-HvrVMReplication }).Count | Should -Be 0
        $null = Invoke-HvrOnHost -StateDir $pair.PrimaryState {
            Enable-HvrVMReplication -VMName 'vm1' -ReplicaServerName 'localhost' -ReplicaServerPort $port -AuthenticationType Certificate `
                -CertificateThumbprint $pair.PrimaryThumbprint
        }
        $cycle = Invoke-HvrTestCli -StateDir $pair.PrimaryState -Argument 'replicate', '--vm=vm1'
        $cycle.Kind | Should -Be 'initial'
        $shown = Invoke-HvrOnHost -StateDir $pair.ReplicaState { Get-HvrVMReplication -VMName 'vm1' }
        $shown.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
        $shown.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
    }
}
