BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Get-HvrAuthorizationEntryTarget' {
    It 'crosses an allowed primary server with each host' {
        $targets = @(InModuleScope HvReplica.Core { Get-HvrAuthorizationEntryTarget -AllowedPrimaryServer 'hv1.contoso.com' -ComputerName 'r1', 'r2' })
        $targets.Count | Should -Be 2
        $targets.Option | Should -Be @('--allowed-primary-server=hv1.contoso.com', '--allowed-primary-server=hv1.contoso.com')
        $targets.Name | Should -Be @('hv1.contoso.com', 'hv1.contoso.com')
        $targets.ComputerName | Should -Be @('r1', 'r2')
    }

    It 'means this host without -ComputerName' {
        $targets = @(InModuleScope HvReplica.Core { Get-HvrAuthorizationEntryTarget -AllowedPrimaryServer '*' })
        $targets.Count | Should -Be 1
        $targets[0].ComputerName | Should -BeExactly ''
    }

    It 'selects a trust group when no server is named' {
        $targets = @(InModuleScope HvReplica.Core { Get-HvrAuthorizationEntryTarget -TrustGroup 'blue' })
        $targets[0].Option | Should -Be '--trust-group=blue'
        $targets[0].Name | Should -Be 'trust group blue'
    }

    It 'takes server and host from each entry object, ignoring -ComputerName' {
        $entries = @(
            [pscustomobject]@{ AllowedPrimaryServer = 'a.contoso.com'; ComputerName = 'r1' }
            [pscustomobject]@{ AllowedPrimaryServer = 'b.contoso.com'; ComputerName = $null }
        )
        $targets = @(InModuleScope HvReplica.Core -Parameters @{ E = $entries } { Get-HvrAuthorizationEntryTarget -Entry $E -ComputerName 'other' })
        $targets.Count | Should -Be 2
        $targets.Option | Should -Be @('--allowed-primary-server=a.contoso.com', '--allowed-primary-server=b.contoso.com')
        $targets.ComputerName | Should -Be @('r1', '')
    }
}
