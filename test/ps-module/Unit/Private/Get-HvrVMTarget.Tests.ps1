BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Get-HvrVMTarget' {
    It 'crosses names with hosts' {
        $targets = InModuleScope HvReplica.Core { Get-HvrVMTarget -VMName 'a', 'b' -ComputerName 'hv1', 'hv2' }
        @($targets).Count | Should -Be 4
        ($targets | ForEach-Object { '{0}@{1}' -f $_.VMName, $_.ComputerName }) | Should -Be @('a@hv1', 'a@hv2', 'b@hv1', 'b@hv2')
    }

    It 'takes the host and relationship from a VMReplication object' {
        $replication = New-HvrTestObject -Fixture 'vm-replication' -TypeName 'HvReplica.VMReplication' -Property @{ ReplicationRelationshipType = 'Extended' }
        $target = InModuleScope HvReplica.Core -Parameters @{ R = $replication } { Get-HvrVMTarget -VMReplication $R }
        $target.VMName | Should -Be 'web1'
        $target.ComputerName | Should -Be 'hv1'
        [string]$target.RelationshipType | Should -Be 'Extended'
    }

    It 'takes Name from a VM object such as Hyper-V''s' {
        $target = InModuleScope HvReplica.Core { Get-HvrVMTarget -VM ([pscustomobject]@{ Name = 'db1'; ComputerName = 'hv3' }) }
        $target.VMName | Should -Be 'db1'
        $target.ComputerName | Should -Be 'hv3'
    }

    It 'refuses an object without a name' {
        { InModuleScope HvReplica.Core { Get-HvrVMTarget -VM ([pscustomobject]@{ Id = 1 }) } } | Should -Throw -ErrorId 'HvrObjectWithoutName'
    }
}
