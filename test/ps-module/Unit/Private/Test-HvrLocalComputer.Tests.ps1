BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Test-HvrLocalComputer' {
    It 'treats "<Name>" as local' -ForEach @(
        @{ Name = '' }, @{ Name = '.' }, @{ Name = 'localhost' }, @{ Name = 'LOCALHOST' }, @{ Name = '127.0.0.1' }
    ) {
        InModuleScope HvReplica.Core -Parameters @{ N = $Name } { Test-HvrLocalComputer -ComputerName $N } | Should -BeTrue
    }

    It 'treats this host''s name, short or qualified, as local' {
        $name = [Environment]::MachineName
        InModuleScope HvReplica.Core -Parameters @{ N = $name } { Test-HvrLocalComputer -ComputerName $N } | Should -BeTrue
        InModuleScope HvReplica.Core -Parameters @{ N = "$name.contoso.com".ToUpperInvariant() } { Test-HvrLocalComputer -ComputerName $N } | Should -BeTrue
    }

    It 'treats another host as remote' {
        InModuleScope HvReplica.Core { Test-HvrLocalComputer -ComputerName 'hv-elsewhere-7.contoso.com' } | Should -BeFalse
    }
}
