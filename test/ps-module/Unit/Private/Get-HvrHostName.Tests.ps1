BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Get-HvrHostName' {
    It 'writes each name of -ComputerName, in order' {
        $hosts = @(InModuleScope HvReplica.Core { Get-HvrHostName -ComputerName 'hv1', 'hv2' })
        $hosts | Should -Be @('hv1', 'hv2')
    }

    It 'writes one empty name (this host) without -ComputerName' {
        $hosts = @(InModuleScope HvReplica.Core { Get-HvrHostName })
        $hosts.Count | Should -Be 1
        $hosts[0] | Should -BeExactly ''
        $hosts[0] | Should -BeOfType [string]
    }

    It 'writes one empty name for an empty list, so a foreach over it runs once' {
        $count = InModuleScope HvReplica.Core {
            $runs = 0
            foreach ($computer in (Get-HvrHostName -ComputerName @())) { $runs++ }
            $runs
        }
        $count | Should -Be 1
    }
}
