# Remove-HvrVMReplication on a replica server: Get-HvrVMReplication there lists the replica VMs it receives
# (Replica, and ExtendedReplica on an extended replica server); piped to Remove-HvrVMReplication each is
# removed with its own relationship type, as Hyper-V's pipeline does, and the CLI's refusal comes back as
# the module's error record.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Remove-HvrVMReplication on the replica server' {
    BeforeEach {
        $script:log = New-Object System.Collections.Generic.List[string]
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith {
            $log.Add((@($Argument) -join ' '))
            Get-HvrCannedResult -Argument $Argument
        }
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -ParameterFilter { $Argument[1] -eq 'get' } -MockWith {
            $replica = Get-HvrFixture -Name 'vm-replication'
            $replica.ReplicationMode = 'Replica'
            $extendedReplica = Get-HvrFixture -Name 'vm-replication'
            $extendedReplica.VMName = 'web2'
            $extendedReplica.ReplicationMode = 'ExtendedReplica'
            $extendedReplica.ReplicationRelationshipType = 'Extended'
            New-HvrCliAnswer -Result @($replica, $extendedReplica)
        }
    }

    It 'removes each piped replica with its own relationship type' {
        Get-HvrVMReplication | Remove-HvrVMReplication -Confirm:$false
        $log | Should -Be @(
            'replication remove --vm-name=web1 --replication-relationship-type=Simple'
            'replication remove --vm-name=web2 --replication-relationship-type=Extended'
        )
    }

    It 'honours -WhatIf: nothing is removed' {
        Get-HvrVMReplication | Remove-HvrVMReplication -WhatIf
        $log.Count | Should -Be 0
    }

    It 'reports the CLI''s refusal (an extended relationship still there) as an InvalidOperation error for that VM' {
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -ParameterFilter { $Argument[1] -eq 'remove' } -MockWith {
            $envelope = [pscustomobject]@{
                schemaVersion = 1; command = 'replication remove'; ok = $false; exitCode = 4
                error = [pscustomobject]@{ code = 'ERR_INVALID_STATE'; message = "replication of VM 'web1' cannot be removed while this host extends it to another replica server" }
            }
            $record = & (Get-HvrCoreModule) { param ($e, $t) ConvertFrom-HvrCliError -Envelope $e -TargetObject $t } $envelope 'web1'
            New-HvrCliAnswer -ErrorRecord $record
        }
        Remove-HvrVMReplication -VMName 'web1' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable refused
        @($refused).Count | Should -Be 1
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'ERR_INVALID_STATE*'
        $refused[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $refused[0].TargetObject | Should -Be 'web1'
        $refused[0].Exception.Message + $refused[0].ErrorDetails.Message | Should -Match 'extends it'
    }
}
