BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'ConvertTo-HvrCliArgument' {
    It 'writes each kind of value as docs/cli-contract.md 1.3 says' {
        $bound = [ordered]@{
            ReplicaServerName              = 'replica.contoso.com'
            ReplicaServerPort              = 443
            CompressionEnabled             = $false
            Reverse                        = [switch]$true
            UseBackup                      = [switch]$false
            InitialReplicationStartTime    = [datetime]::new(2026, 11, 25, 12, 0, 0, [DateTimeKind]::Utc)
            AutoResynchronizeIntervalStart = [timespan]'18:30:00'
            ExcludedVhdPath                = @('/vm/a.vhdx', '/vm/b c.vhdx')
            AuthenticationType             = [HvReplica.ReplicationAuthenticationType]::Certificate
            CertificateAuthenticationPortMapping = @{ 'node1.contoso.com' = 8443 }
        }
        $arguments = InModuleScope HvReplica.Core -Parameters @{ Bound = $bound } {
            ConvertTo-HvrCliArgument -BoundParameters $Bound -Name @(
                'ReplicaServerName', 'ReplicaServerPort', 'CompressionEnabled', 'Reverse', 'UseBackup',
                'InitialReplicationStartTime', 'AutoResynchronizeIntervalStart', 'ExcludedVhdPath', 'AuthenticationType',
                'CertificateAuthenticationPortMapping'
            )
        }
        $arguments | Should -Be @(
            '--replica-server-name=replica.contoso.com'
            '--replica-server-port=443'
            '--compression-enabled=false'
            '--reverse'
            '--initial-replication-start-time=2026-11-25T12:00:00.000Z'
            '--auto-resynchronize-interval-start=66600'
            '--excluded-vhd-path=/vm/a.vhdx'
            '--excluded-vhd-path=/vm/b c.vhdx'
            '--authentication-type=Certificate'
            '--certificate-authentication-port-mapping=node1.contoso.com=8443'
        )
    }

    It 'takes only the parameters named, in their order' {
        $bound = @{ VMName = 'web1'; Passthru = [switch]$true; RecoveryHistory = 4 }
        InModuleScope HvReplica.Core -Parameters @{ Bound = $bound } {
            ConvertTo-HvrCliArgument -BoundParameters $Bound -Name @('RecoveryHistory', 'TrustGroup')
        } | Should -Be @('--recovery-history=4')
    }

    It 'converts a local time to UTC' {
        $local = [datetime]::new(2026, 11, 25, 12, 0, 0, [DateTimeKind]::Local)
        $expected = '--initial-replication-start-time=' + $local.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ')
        InModuleScope HvReplica.Core -Parameters @{ Local = $local } {
            ConvertTo-HvrCliArgument -BoundParameters @{ InitialReplicationStartTime = $Local } -Name 'InitialReplicationStartTime'
        } | Should -Be $expected
    }

    It 'returns an empty array when nothing is bound' {
        $result = InModuleScope HvReplica.Core { ConvertTo-HvrCliArgument -BoundParameters @{} -Name 'A' }
        @($result).Count | Should -Be 0
    }
}
