BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Invoke-HvrVMOperation' {
    BeforeAll {
        $script:harness = {
            param ($Arguments)
            function Invoke-HvrVMHarness
            {
                [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
                param ([hashtable] $Operation)
                Invoke-HvrVMOperation -Cmdlet $PSCmdlet -Command 'replication', 'suspend' -TypeName 'HvReplica.VMReplication' @Operation
            }
            Invoke-HvrVMHarness @Arguments
        }
    }

    BeforeEach {
        $script:log = New-Object System.Collections.Generic.List[object]
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith {
            $log.Add(@($Argument))
            Get-HvrCannedResult -Argument $Argument
        }
    }

    It 'crosses -VMName with -ComputerName, one CLI call each, in order' {
        $null = InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Arguments @{ Operation = @{ VMName = 'a', 'b'; ComputerName = 'hv1', 'hv2' } } }
        Get-HvrCliArgumentLog -Log $log | Should -Be @('replication suspend --vm-name=a', 'replication suspend --vm-name=a', 'replication suspend --vm-name=b', 'replication suspend --vm-name=b')
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 2 -Exactly -ParameterFilter { $ComputerName -eq 'hv2' }
    }

    It 'sends the relationship of a VMReplication object with -PassRelationship' {
        $replication = New-HvrTestObject -Fixture 'vm-replication' -TypeName 'HvReplica.VMReplication' -Property @{ ReplicationRelationshipType = 'Extended' }
        $null = InModuleScope HvReplica.Core -Parameters @{ H = $harness; R = $replication } { & ([scriptblock]::Create($H)) -Arguments @{ Operation = @{ VMReplication = $R; PassRelationship = $true } } }
        Get-HvrCliArgumentLog -Log $log | Should -Be @('replication suspend --vm-name=web1 --replication-relationship-type=Extended')
    }

    It 'takes ready-made targets with -Target' {
        $targets = @([pscustomobject]@{ VMName = 'x1'; ComputerName = ''; RelationshipType = $null })
        $output = @(InModuleScope HvReplica.Core -Parameters @{ H = $harness; T = $targets } { & ([scriptblock]::Create($H)) -Arguments @{ Operation = @{ Target = $T; VMName = 'ignored'; Output = $true } } })
        Get-HvrCliArgumentLog -Log $log | Should -Be @('replication suspend --vm-name=x1')
        $output[0].PSObject.TypeNames[0] | Should -Be 'HvReplica.VMReplication'
    }

    It 'asks the calling cmdlet''s ShouldProcess for each VM when an action is given' {
        $null = InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Arguments @{ Operation = @{ VMName = 'a', 'b'; Action = 'Suspend replication' }; WhatIf = $true } }
        $log.Count | Should -Be 0
    }
}
