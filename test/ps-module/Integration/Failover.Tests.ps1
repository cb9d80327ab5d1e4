# Issue #8, second half: failover through the module against the REAL hvreplica CLI, after replication
# over the network (Initialize-HvrTestReplication: two paired hosts, a replica server process, a file-host
# VM enabled with Enable-HvrVMReplication, initial replication and delta cycles). First a test failover on
# the replica host, then Hyper-V's planned failover: the primary VM is shut down, Start-HvrVMFailover
# -Prepare on the primary, Start-HvrVMFailover on the replica, the old primary made a replica server and
# marked with Set-HvrVMReplication -AsReplica, Set-HvrVMReplication -Reverse on the new primary (already
# Replicating: after a planned failover nothing needs an initial replication), and replication flowing back;
# last, Remove-HvrVMReplication on the old primary (now the replica) keeps its VM and the new primary is refused.
# Content is compared by SHA-256 of raw images of the disks (Get-FileHash).
# The It blocks of each Describe are one scenario, in order.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../TestHelpers.ps1')
    Assert-HvrIntegrationPrerequisite
    Import-HvrTestModule

    $script:setup = $null
    $script:reverseServer = $null
    $script:setup = Initialize-HvrTestReplication -Prefix 'hvr-it-failover' -DeltaCycles 2
    $script:work = Join-Path -Path $setup.Root -ChildPath 'images'
    $null = New-Item -ItemType Directory -Path $work
    # Nothing has written since the last cycle: this is the content of the newest recovery point.
    $script:replicatedContent = @(Get-HvrTestVmContent -StateDir $setup.PrimaryState -Name 'vm1' -WorkDir $work)
}

AfterAll {
    Stop-HvrTestReplicaServer -Process $reverseServer
    if ($setup)
    {
        Stop-HvrTestReplicaServer -Process $setup.Server
        if (Test-Path -LiteralPath $setup.Root) { Remove-Item -LiteralPath $setup.Root -Recurse -Force }
    }
}

Describe 'Test failover on the replica host' {
    It 'starts a test failover with Start-HvrVMFailover -AsTest and returns the test VM' {
        $script:testVm = Invoke-HvrOnHost -StateDir $setup.ReplicaState { Start-HvrVMFailover -VMName 'vm1' -AsTest -Confirm:$false }
        @($testVm).Count | Should -Be 1
        $testVm.PSObject.TypeNames | Should -Contain 'HvReplica.VirtualMachine'
        # Hyper-V's name for a test VM (docs/cli-contract.md 3.7), on the file host too.
        $testVm.Name | Should -BeExactly 'vm1 - Test'
        $testVm.State | Should -Be 'Off'
    }

    It 'shows the test VM on the replica host (hvreplica vm list, Get-HvrVMReplication)' {
        $vms = Invoke-HvrTestCli -StateDir $setup.ReplicaState -Argument 'vm', 'list'
        @($vms.vms).name | Should -Contain $testVm.Name
        $shown = Invoke-HvrOnHost -StateDir $setup.ReplicaState { Get-HvrVMReplication -VMName 'vm1' }
        $shown.TestVirtualMachine.Name | Should -Be $testVm.Name
        $shown.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $shown.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
    }

    It 'gives the test VM the content of the newest recovery point' {
        $content = @(Get-HvrTestVmContent -StateDir $setup.ReplicaState -Name $testVm.Name -WorkDir $work)
        $content | Should -Be $replicatedContent
    }

    It 'removes the test VM with Stop-HvrVMFailover' {
        $null = Invoke-HvrOnHost -StateDir $setup.ReplicaState { Stop-HvrVMFailover -VMName 'vm1' -Confirm:$false -ErrorAction Stop }
        $vms = Invoke-HvrTestCli -StateDir $setup.ReplicaState -Argument 'vm', 'list'
        @($vms.vms).name | Should -Not -Contain $testVm.Name
        $shown = Invoke-HvrOnHost -StateDir $setup.ReplicaState { Get-HvrVMReplication -VMName 'vm1' }
        $shown.TestVirtualMachine | Should -BeNullOrEmpty
        $shown.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
    }

    It 'keeps replicating from the primary after the test' {
        $null = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'workload', '--vm=vm1', '--seed=30', '--bytes=1MiB'
        $cycle = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'replicate', '--vm=vm1'
        $cycle.Kind | Should -Be 'delta'
        $shown = Invoke-HvrOnHost -StateDir $setup.PrimaryState { Get-HvrVMReplication -VMName 'vm1' }
        $shown.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $shown.Health | Should -Be ([HvReplica.VMReplicationHealthState]::Normal)
    }
}

Describe 'Planned failover and reverse replication' {
    It 'prepares the failover on the primary: VM shut down, Start-HvrVMFailover -Prepare' {
        # Writes the replica has not got yet: the prepare ships them.
        $null = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'workload', '--vm=vm1', '--seed=40', '--bytes=1MiB'
        $null = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'vm', 'stop', 'vm1'
        $script:finalContent = @(Get-HvrTestVmContent -StateDir $setup.PrimaryState -Name 'vm1' -WorkDir $work)
        $prepared = Invoke-HvrOnHost -StateDir $setup.PrimaryState { Start-HvrVMFailover -VMName 'vm1' -Prepare -Confirm:$false -Passthru -ErrorAction Stop }
        $prepared.PSObject.TypeNames | Should -Contain 'HvReplica.VirtualMachine'
        $prepared.ReplicationState | Should -Be 'PreparedForFailover'
        $shown = Invoke-HvrOnHost -StateDir $setup.PrimaryState { Get-HvrVMReplication -VMName 'vm1' }
        $shown.State | Should -Be ([HvReplica.VMReplicationState]::PreparedForFailover)
        $shown.Mode | Should -Be ([HvReplica.VMReplicationMode]::Primary)
    }

    It 'fails over on the replica host with Start-HvrVMFailover, losing nothing' {
        $failedOver = Invoke-HvrOnHost -StateDir $setup.ReplicaState { Start-HvrVMFailover -VMName 'vm1' -Confirm:$false -Passthru -ErrorAction Stop }
        $failedOver.PSObject.TypeNames | Should -Contain 'HvReplica.VirtualMachine'
        $failedOver.Name | Should -Be 'vm1'
        $failedOver.ReplicationState | Should -Be 'FailedOverWaitingCompletion'
        $content = @(Get-HvrTestVmContent -StateDir $setup.ReplicaState -Name 'vm1' -WorkDir $work)
        $content | Should -Be $finalContent
        $shown = Invoke-HvrOnHost -StateDir $setup.ReplicaState { Get-HvrVMReplication -VMName 'vm1' }
        $shown.State | Should -Be ([HvReplica.VMReplicationState]::FailedOverWaitingCompletion)
        $shown.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
    }

    It 'makes the old primary a replica server for the replica host' {
        $script:reversePort = Get-HvrFreeTcpPort
        $reverseStorage = Join-Path -Path $setup.Root -ChildPath 'primary-storage'
        $configured = Invoke-HvrOnHost -StateDir $setup.PrimaryState {
            Set-HvrVMReplicationServer -ReplicationEnabled $true -AllowedAuthenticationType Certificate `
                -CertificateThumbprint $setup.PrimaryThumbprint -CertificateAuthenticationPort $reversePort -Passthru -ErrorAction Stop
            $null = New-HvrVMReplicationAuthorizationEntry -AllowedPrimaryServer $setup.ReplicaName -ReplicaStorageLocation $reverseStorage `
                -TrustGroup 'integration' -ErrorAction Stop
        }
        $configured.RepEnabled | Should -BeTrue
        $script:reverseServer = Start-HvrTestReplicaServer -StateDir $setup.PrimaryState
        $reverseServer.HasExited | Should -BeFalse
    }

    It 'turns the old primary into the replica with Set-HvrVMReplication -AsReplica' {
        $replica = Invoke-HvrOnHost -StateDir $setup.PrimaryState {
            Set-HvrVMReplication -VMName 'vm1' -AsReplica -AllowedPrimaryServer $setup.ReplicaName -Passthru -ErrorAction Stop
        }
        $replica.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
        $replica.State | Should -Be ([HvReplica.VMReplicationState]::WaitingForInitialReplication)
    }

    It 'reverses replication on the new primary with Set-HvrVMReplication -Reverse' {
        $reversed = Invoke-HvrOnHost -StateDir $setup.ReplicaState {
            Set-HvrVMReplication -VMName 'vm1' -Reverse -ReplicaServerName 'localhost' -ReplicaServerPort $reversePort `
                -AuthenticationType Certificate -CertificateThumbprint $setup.ReplicaThumbprint -Passthru -ErrorAction Stop
        }
        $reversed.Mode | Should -Be ([HvReplica.VMReplicationMode]::Primary)
        # A planned failover lost nothing: the reverse compares the two copies, no initial replication follows.
        $reversed.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $reversed.PrimaryServer | Should -Be $setup.ReplicaName
        $reversed.ReplicaServer | Should -Be 'localhost'
        $reversed.ReplicaPort | Should -Be $reversePort
    }

    It 'replicates the new primary''s writes back to the old primary' {
        $null = Invoke-HvrTestCli -StateDir $setup.ReplicaState -Argument 'vm', 'start', 'vm1'
        $null = Invoke-HvrTestCli -StateDir $setup.ReplicaState -Argument 'workload', '--vm=vm1', '--seed=50', '--bytes=1MiB'
        $script:backCycle = Invoke-HvrTestCli -StateDir $setup.ReplicaState -Argument 'replicate', '--vm=vm1'
        $backCycle.VMName | Should -Be 'vm1'
        $newPrimary = Invoke-HvrOnHost -StateDir $setup.ReplicaState { Get-HvrVMReplication -VMName 'vm1' }
        $newPrimary.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $newPrimary.Health | Should -Be ([HvReplica.VMReplicationHealthState]::Normal)
        $newPrimary.Mode | Should -Be ([HvReplica.VMReplicationMode]::Primary)
        $oldPrimary = Invoke-HvrOnHost -StateDir $setup.PrimaryState { Get-HvrVMReplication -VMName 'vm1' }
        $oldPrimary.State | Should -Be ([HvReplica.VMReplicationState]::Replicating)
        $oldPrimary.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
        $measured = Invoke-HvrOnHost -StateDir $setup.ReplicaState { Measure-HvrVMReplication -VMName 'vm1' }
        $measured.SuccessfulReplicationCount | Should -BeGreaterThan 0
        $measured.ReplicationErrors | Should -Be 0
    }

    It 'holds on the old primary exactly what the new primary has (SHA-256 through a test failover there)' {
        $newPrimaryContent = @(Get-HvrTestVmContent -StateDir $setup.ReplicaState -Name 'vm1' -WorkDir $work)
        $newPrimaryContent | Should -Not -Be $finalContent
        $check = Invoke-HvrOnHost -StateDir $setup.PrimaryState { Start-HvrVMFailover -VMName 'vm1' -AsTest -Confirm:$false -ErrorAction Stop }
        try
        {
            $content = @(Get-HvrTestVmContent -StateDir $setup.PrimaryState -Name $check.Name -WorkDir $work)
        }
        finally
        {
            $null = Invoke-HvrOnHost -StateDir $setup.PrimaryState { Stop-HvrVMFailover -VMName 'vm1' -Confirm:$false -ErrorAction Stop }
        }
        $content | Should -Be $newPrimaryContent
    }

    It 'removes replication on the old primary, now the replica: its VM comes back, off, at the last cycle it acknowledged' {
        # Nothing has written on the new primary since its last cycle.
        $acknowledged = @(Get-HvrTestVmContent -StateDir $setup.ReplicaState -Name 'vm1' -WorkDir $work)
        $removed = Invoke-HvrOnHost -StateDir $setup.PrimaryState { Remove-HvrVMReplication -VMName 'vm1' -Confirm:$false -Passthru -ErrorAction Stop }
        $removed.Mode | Should -Be ([HvReplica.VMReplicationMode]::Replica)
        @(Invoke-HvrOnHost -StateDir $setup.PrimaryState { Get-HvrVMReplication -VMName '*' }).Count | Should -Be 0
        $kept = @((Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'vm', 'list').vms | Where-Object { $_.name -eq 'vm1' })
        $kept.Count | Should -Be 1
        $kept[0].isReplica | Should -BeFalse
        @(Get-HvrTestVmContent -StateDir $setup.PrimaryState -Name 'vm1' -WorkDir $work) | Should -Be $acknowledged
    }

    It 'refuses the new primary''s next cycle as removed there, saying to remove replication on the new primary too' {
        $refused = Invoke-HvrRefusedCycle -StateDir $setup.ReplicaState -Seed 51 -Bytes '256KiB'
        $refused.Message | Should -Match 'remove the relationship too \(hvreplica replication remove --vm-name vm1, Remove-HvrVMReplication vm1\)'
        $refused.Relationship.State | Should -Be ([HvReplica.VMReplicationState]::Error)
        $refused.Relationship.Health | Should -Be ([HvReplica.VMReplicationHealthState]::Critical)
    }
}
