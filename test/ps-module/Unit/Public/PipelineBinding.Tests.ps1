# VM names bind by value, objects from Get-Hvr... (and Hyper-V's own objects) by property name, so
# Hyper-V pipelines port by adding the prefix.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Pipeline binding' {
    BeforeEach {
        $script:log = New-Object System.Collections.Generic.List[object]
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith {
            $log.Add([pscustomobject]@{ Argument = (@($Argument) -join ' '); ComputerName = $ComputerName })
            Get-HvrCannedResult -Argument $Argument
        }
    }

    It 'binds VM names by value' {
        'web1', 'web2' | Suspend-HvrVMReplication
        $log.Argument | Should -Be @('replication suspend --vm-name=web1', 'replication suspend --vm-name=web2')
    }

    It 'binds Get-HvrVMReplication output by property name, keeping host and relationship' {
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -ParameterFilter { $Argument[1] -eq 'get' } -MockWith {
            $simple = Get-HvrFixture -Name 'vm-replication'
            $extended = Get-HvrFixture -Name 'vm-replication'
            $extended.ReplicationRelationshipType = 'Extended'
            $extended.ReplicationMode = 'Replica'
            New-HvrCliAnswer -Result @($simple, $extended)
        }
        Get-HvrVMReplication -ComputerName 'hv1' | Resume-HvrVMReplication
        $resumes = @($log | Where-Object { $_.Argument -like 'replication resume*' })
        $resumes.Argument | Should -Be @(
            'replication resume --vm-name=web1 --replication-relationship-type=Simple'
            'replication resume --vm-name=web1 --replication-relationship-type=Extended'
        )
        $resumes.ComputerName | Should -Be @('hv1', 'hv1')
    }

    It 'binds Measure-HvrVMReplication output to Reset-HvrVMReplicationStatistics' {
        Measure-HvrVMReplication -VMName 'web1' | Where-Object Health -eq 'Warning' | Reset-HvrVMReplicationStatistics
        $log.Argument | Should -Contain 'replication reset-statistics --vm-name=web1 --replication-relationship-type=Simple'
    }

    It 'binds Hyper-V''s VirtualMachine objects through their Name property' {
        $hyperVvm = [pscustomobject]@{ Name = 'sql1'; ComputerName = 'localhost'; State = 'Running' }
        $hyperVvm | Enable-HvrVMReplication -ReplicaServerName 'replica.contoso.com' -ReplicaServerPort 80 -AuthenticationType Kerberos
        $log.Argument | Should -Be @('replication enable --vm-name=sql1 --replica-server-name=replica.contoso.com --replica-server-port=80 --authentication-type=Kerberos')
    }

    It 'accepts a VMReplication object for -VMReplication by value' {
        $replication = New-HvrTestObject -Fixture 'vm-replication' -TypeName 'HvReplica.VMReplication' -Property @{ ReplicationRelationshipType = 'Extended' }
        Remove-HvrVMReplication -VMReplication $replication
        $log.Argument | Should -Be @('replication remove --vm-name=web1 --replication-relationship-type=Extended')
        $log.ComputerName | Should -Be @('hv1')
    }

    It 'refuses an object of another type for -VMReplication' {
        { Remove-HvrVMReplication -VMReplication ([pscustomobject]@{ VMName = 'x' }) } | Should -Throw -ErrorId 'MismatchedPSTypeName*'
    }

    It 'fails over to a recovery point piped from Get-HvrVMSnapshot' {
        Get-HvrVMSnapshot -VMName 'web1' | Start-HvrVMFailover -AsTest -Confirm:$false | Out-Null
        $log.Argument | Should -Contain 'failover start --vm-name=web1 --recovery-point=rp-000042 --as-test'
        ($log | Where-Object { $_.Argument -like 'failover*' }).ComputerName | Should -Be 'replica'
    }

    It 'removes authorization entries piped from Get-HvrVMReplicationAuthorizationEntry' {
        Get-HvrVMReplicationAuthorizationEntry | Remove-HvrVMReplicationAuthorizationEntry -Confirm:$false
        $log.Argument | Should -Be @('auth list', 'auth remove --allowed-primary-server=hv1.contoso.com')
    }

    It 'changes authorization entries piped by value' {
        Get-HvrVMReplicationAuthorizationEntry | Set-HvrVMReplicationAuthorizationEntry -TrustGroup 'green'
        $log.Argument | Should -Contain 'auth set --allowed-primary-server=hv1.contoso.com --trust-group=green'
    }

    It 'creates authorization entries from piped server names' {
        'hv1.contoso.com', 'hv2.contoso.com' | New-HvrVMReplicationAuthorizationEntry -ReplicaStorageLocation '/srv/r' -TrustGroup 'g' | Out-Null
        $log.Argument | Should -Be @(
            'auth add --allowed-primary-server=hv1.contoso.com --replica-storage-location=/srv/r --trust-group=g'
            'auth add --allowed-primary-server=hv2.contoso.com --replica-storage-location=/srv/r --trust-group=g'
        )
    }

    It 'registers a task for each primary piped in' {
        Get-HvrVMReplication | Register-HvrReplicationTask | Out-Null
        $log.Argument | Should -Contain 'task register --vm-name=web1'
    }

    It 'binds positional parameters as Hyper-V does' {
        Enable-HvrVMReplication 'web1' 'replica.contoso.com' 443 Certificate -CertificateThumbprint 'AB'
        Import-HvrVMInitialReplication 'web1' '/media/ir/web1_x'
        $log.Argument | Should -Be @(
            'replication enable --vm-name=web1 --replica-server-name=replica.contoso.com --replica-server-port=443 --authentication-type=Certificate --certificate-thumbprint=AB'
            'initial import --vm-name=web1 --path=/media/ir/web1_x'
        )
    }

    It 'accepts Hyper-V''s parameter aliases' {
        Enable-HvrVMReplication -Name 'web1' -ReplicaServer 'r.contoso.com' -ReplicaPort 80 -AuthType Kerberos -RepFreq 30 -RecHist 2 -VSSFreq 1 -AutoResync $true
        $log.Argument | Should -Be @('replication enable --vm-name=web1 --replica-server-name=r.contoso.com --replica-server-port=80 --authentication-type=Kerberos --vss-snapshot-frequency-hour=1 --recovery-history=2 --replication-frequency-sec=30 --auto-resynchronize-enabled=true')
    }
}

# PowerShell leaves a value bound by property name from one pipeline object in $PSBoundParameters while
# the next object is processed (the variable is reset, the dictionary entry is not). Every cmdlet that
# builds CLI options from $PSBoundParameters must send each object only what that object carried.
Describe 'Values bound from one pipeline object do not carry over to the next' {
    BeforeEach {
        $script:log = New-Object System.Collections.Generic.List[object]
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith {
            $log.Add((@($Argument) -join ' '))
            Get-HvrCannedResult -Argument $Argument
        }
    }

    It '<Command> sends <Property> only with the object that has it' -ForEach @(
        @{ Command = 'Suspend-HvrVMReplication'; Property = 'ReplicationRelationshipType'; Value = 'Extended'; Parameters = @{}; Expected = @('replication suspend --vm-name=web1 --replication-relationship-type=Extended', 'replication suspend --vm-name=web2') }
        @{ Command = 'Resume-HvrVMReplication'; Property = 'ReplicationRelationshipType'; Value = 'Extended'; Parameters = @{}; Expected = @('replication resume --vm-name=web1 --replication-relationship-type=Extended', 'replication resume --vm-name=web2') }
        @{ Command = 'Stop-HvrVMReplication'; Property = 'ReplicationRelationshipType'; Value = 'Extended'; Parameters = @{ Confirm = $false }; Expected = @('replication stop --vm-name=web1 --replication-relationship-type=Extended', 'replication stop --vm-name=web2') }
        @{ Command = 'Remove-HvrVMReplication'; Property = 'ReplicationRelationshipType'; Value = 'Extended'; Parameters = @{ Confirm = $false }; Expected = @('replication remove --vm-name=web1 --replication-relationship-type=Extended', 'replication remove --vm-name=web2') }
        @{ Command = 'Reset-HvrVMReplicationStatistics'; Property = 'ReplicationRelationshipType'; Value = 'Extended'; Parameters = @{}; Expected = @('replication reset-statistics --vm-name=web1 --replication-relationship-type=Extended', 'replication reset-statistics --vm-name=web2') }
        @{ Command = 'Set-HvrVMReplication'; Property = 'CertificateThumbprint'; Value = 'AB12'; Parameters = @{ ReplicationFrequencySec = 30 }; Expected = @('replication set --vm-name=web1 --certificate-thumbprint=AB12 --replication-frequency-sec=30', 'replication set --vm-name=web2 --replication-frequency-sec=30') }
        @{ Command = 'Set-HvrVMReplication'; Property = 'AllowedPrimaryServer'; Value = 'hv1.contoso.com'; Parameters = @{ AsReplica = $true }; Expected = @('replication set --vm-name=web1 --as-replica --allowed-primary-server=hv1.contoso.com', 'replication set --vm-name=web2 --as-replica') }
        @{ Command = 'Enable-HvrVMReplication'; Property = 'AllowedPrimaryServer'; Value = 'hv1.contoso.com'; Parameters = @{ AsReplica = $true }; Expected = @('replication enable --vm-name=web1 --as-replica --allowed-primary-server=hv1.contoso.com', 'replication enable --vm-name=web2 --as-replica') }
    ) {
        $first = [pscustomobject]@{ VMName = 'web1'; $Property = $Value }
        $second = [pscustomobject]@{ VMName = 'web2' }
        $first, $second | & $Command @Parameters
        $log | Should -Be $Expected
    }

    It 'Enable-HvrVMReplication does not lend one object''s certificate thumbprint to the next' {
        $first = [pscustomobject]@{ VMName = 'web1'; CertificateThumbprint = 'AB12' }
        $second = [pscustomobject]@{ VMName = 'web2' }
        # The second object has no thumbprint: refused as Hyper-V refuses it, not sent with the first one's.
        { $first, $second | Enable-HvrVMReplication -ReplicaServerName 'r.contoso.com' -ReplicaServerPort 443 -AuthenticationType Certificate } |
            Should -Throw -ErrorId 'HvrThumbprintRequired*'
        $log | Should -Be @('replication enable --vm-name=web1 --replica-server-name=r.contoso.com --replica-server-port=443 --authentication-type=Certificate --certificate-thumbprint=AB12')
    }

    It 'Install-HvrReplicationService sends the service name only with the object that has it' {
        [pscustomobject]@{ Role = 'Agent'; ServiceName = 'hvr-agent-2' }, [pscustomobject]@{ Role = 'ReplicaServer' } | Install-HvrReplicationService -Confirm:$false | Out-Null
        $log | Should -Be @('service install --role=agent --service-name=hvr-agent-2', 'service install --role=replica-server')
    }

    It 'Uninstall-HvrReplicationService sends the service name only with the object that has it' {
        [pscustomobject]@{ Role = 'Agent'; ServiceName = 'hvr-agent-2' }, [pscustomobject]@{ Role = 'ReplicaServer' } | Uninstall-HvrReplicationService -Confirm:$false | Out-Null
        $log | Should -Be @('service uninstall --role=agent --service-name=hvr-agent-2', 'service uninstall --role=replica-server')
    }

    It 'keeps command-line values for every object' {
        [pscustomobject]@{ VMName = 'web1'; ReplicationRelationshipType = 'Extended' }, [pscustomobject]@{ VMName = 'web2' } |
            Resume-HvrVMReplication -Resynchronize
        $log | Should -Be @(
            'replication resume --vm-name=web1 --replication-relationship-type=Extended --resynchronize'
            'replication resume --vm-name=web2 --resynchronize'
        )
    }
}
