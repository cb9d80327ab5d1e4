BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'ConvertTo-HvrKebabCase' {
    It 'maps <Name> to <Expected>' -ForEach @(
        @{ Name = 'VMName'; Expected = 'vm-name' }
        @{ Name = 'VSSSnapshotFrequencyHour'; Expected = 'vss-snapshot-frequency-hour' }
        @{ Name = 'ReplicationFrequencySec'; Expected = 'replication-frequency-sec' }
        @{ Name = 'ReplicaServerPort'; Expected = 'replica-server-port' }
        @{ Name = 'ExcludedVhdPath'; Expected = 'excluded-vhd-path' }
        @{ Name = 'ReplicateHostKvpItems'; Expected = 'replicate-host-kvp-items' }
        @{ Name = 'DisableVSSSnapshotReplication'; Expected = 'disable-vss-snapshot-replication' }
        @{ Name = 'ReplicatedDiskPaths'; Expected = 'replicated-disk-paths' }
        @{ Name = 'IntervalSec'; Expected = 'interval-sec' }
    ) {
        InModuleScope HvReplica.Core -Parameters @{ Name = $Name } { ConvertTo-HvrKebabCase -Name $Name } | Should -BeExactly $Expected
    }
}
