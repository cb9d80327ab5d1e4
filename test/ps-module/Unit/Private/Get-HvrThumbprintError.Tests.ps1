BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Get-HvrThumbprintError' {
    It '<Type> with thumbprint "<Thumbprint>" gives "<Expected>"' -ForEach @(
        @{ Type = 'Certificate'; Thumbprint = 'ABCD'; Expected = '' }
        @{ Type = 'Kerberos'; Thumbprint = ''; Expected = '' }
        @{ Type = 'CertificateAndKerberos'; Thumbprint = 'ABCD'; Expected = '' }
        @{ Type = 'Certificate'; Thumbprint = ''; Expected = 'HvrThumbprintRequired' }
        @{ Type = 'CertificateAndKerberos'; Thumbprint = ' '; Expected = 'HvrThumbprintRequired' }
        @{ Type = 'Kerberos'; Thumbprint = 'ABCD'; Expected = 'HvrThumbprintNotAllowed' }
    ) {
        $problem = InModuleScope HvReplica.Core -Parameters @{ T = $Type; P = $Thumbprint } {
            Get-HvrThumbprintError -AuthenticationType $T -CertificateThumbprint $P
        }
        [string]$problem.FullyQualifiedErrorId | Should -BeExactly $Expected
        if ($Expected) { $problem.CategoryInfo.Category | Should -Be 'InvalidArgument' }
    }

    It 'checks nothing when no authentication type is given' {
        InModuleScope HvReplica.Core { Get-HvrThumbprintError -AuthenticationType $null -CertificateThumbprint 'ABCD' } | Should -BeNullOrEmpty
    }
}
