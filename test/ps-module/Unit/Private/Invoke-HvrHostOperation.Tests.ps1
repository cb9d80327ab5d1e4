BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Invoke-HvrHostOperation' {
    BeforeAll {
        $script:harness = {
            param ($Arguments)
            function Invoke-HvrHostHarness
            {
                [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
                param ([hashtable] $Operation)
                Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'server', 'get' -Target 'replication server' @Operation
            }
            Invoke-HvrHostHarness @Arguments
        }
    }

    BeforeEach {
        $script:log = New-Object System.Collections.Generic.List[object]
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith {
            $log.Add(@($Argument))
            Get-HvrCannedResult -Argument $Argument
        }
    }

    It 'runs once on this host without -ComputerName' {
        $output = @(InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Arguments @{ Operation = @{ TypeName = 'HvReplica.VMReplicationServer'; Output = $true } } })
        Get-HvrCliArgumentLog -Log $log | Should -Be @('server get')
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $ComputerName -eq '' }
        $output[0].PSObject.TypeNames[0] | Should -Be 'HvReplica.VMReplicationServer'
    }

    It 'runs once per host, in order, with the options' {
        $null = InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Arguments @{ Operation = @{ ComputerName = 'hv-a', 'hv-b'; Option = @('--x=1') } } }
        Get-HvrCliArgumentLog -Log $log | Should -Be @('server get --x=1', 'server get --x=1')
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'hv-a' }
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'hv-b' }
    }

    It 'asks the calling cmdlet''s ShouldProcess when an action is given' {
        $null = InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Arguments @{ Operation = @{ ComputerName = 'hv-a', 'hv-b'; Action = 'Change' }; WhatIf = $true } }
        $log.Count | Should -Be 0
    }

    Context 'results and failures' {
        BeforeAll {
            # The CLI answer is canned per test; errors are collected as the caller's -ErrorVariable would.
            $script:resultHarness = {
                param ($TypeName, [bool] $Output)
                function Invoke-HvrResultHarness
                {
                    [CmdletBinding()]
                    param ($TypeName, [bool] $Output)
                    Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'auth', 'list' -Target 'authorization entries' -TypeName $TypeName -Output:$Output
                }
                $errors = $null
                $written = @(Invoke-HvrResultHarness -TypeName $TypeName -Output $Output -ErrorAction SilentlyContinue -ErrorVariable errors)
                [pscustomobject]@{ Output = $written; Errors = @($errors) }
            }
            $script:entry = Get-HvrFixture -Name 'authorization-entry'
        }

        It 'writes each result converted to the type name' {
            $script:answer = New-HvrCliAnswer -Result @($entry, $entry)
            Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith { $answer }
            $run = InModuleScope HvReplica.Core -Parameters @{ H = $resultHarness } { & ([scriptblock]::Create($H)) -TypeName 'HvReplica.VMReplicationAuthorizationEntry' -Output $true }
            $run.Output.Count | Should -Be 2
            $run.Output[0].PSObject.TypeNames[0] | Should -Be 'HvReplica.VMReplicationAuthorizationEntry'
            $run.Errors.Count | Should -Be 0
        }

        It 'writes nothing without -Output' {
            $script:answer = New-HvrCliAnswer -Result @($entry)
            Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith { $answer }
            $run = InModuleScope HvReplica.Core -Parameters @{ H = $resultHarness } { & ([scriptblock]::Create($H)) -TypeName 'HvReplica.VMReplicationAuthorizationEntry' -Output $false }
            $run.Output.Count | Should -Be 0
        }

        It 'writes the result as the CLI gave it without a type name, skipping nulls' {
            $script:answer = New-HvrCliAnswer -Result @([pscustomobject]@{ Ok = 1 }, $null)
            Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith { $answer }
            $run = InModuleScope HvReplica.Core -Parameters @{ H = $resultHarness } { & ([scriptblock]::Create($H)) -TypeName '' -Output $true }
            $run.Output.Count | Should -Be 1
            $run.Output[0].Ok | Should -Be 1
        }

        It 'turns a CLI failure into a non-terminating error of the calling cmdlet' {
            $record = [System.Management.Automation.ErrorRecord]::new([System.Exception]::new('boom'), 'HvrCliFailed', 'InvalidOperation', 'x')
            $script:answer = New-HvrCliAnswer -ErrorRecord $record
            Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith { $answer }
            $run = InModuleScope HvReplica.Core -Parameters @{ H = $resultHarness } { & ([scriptblock]::Create($H)) -TypeName 'HvReplica.VMReplicationAuthorizationEntry' -Output $true }
            $run.Output.Count | Should -Be 0
            $run.Errors.Count | Should -Be 1
            $run.Errors[0].FullyQualifiedErrorId | Should -BeExactly 'HvrCliFailed,Invoke-HvrResultHarness'
        }

        It 'turns a result that breaks the contract into a non-terminating error of the calling cmdlet' {
            $script:answer = New-HvrCliAnswer -Result @([pscustomobject]@{ Unexpected = 1 })
            Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith { $answer }
            $run = InModuleScope HvReplica.Core -Parameters @{ H = $resultHarness } { & ([scriptblock]::Create($H)) -TypeName 'HvReplica.VMReplication' -Output $true }
            $run.Output.Count | Should -Be 0
            $run.Errors.Count | Should -BeGreaterThan 0
            $run.Errors[-1].FullyQualifiedErrorId | Should -BeExactly 'HvrCliInvalidResult,Invoke-HvrResultHarness'
        }
    }
}
