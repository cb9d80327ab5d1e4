BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Invoke-HvrServiceCommand' {
    BeforeAll {
        # A cmdlet shaped like Install-/Uninstall-ReplicationService.
        $script:harness = {
            param ($Verb, [bool] $Output, $Arguments)
            function Invoke-HvrServiceHarness
            {
                [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
                param ([string] $Role, [string] $ServiceName, [string[]] $ComputerName, [string] $Verb, [bool] $Output)
                Invoke-HvrServiceCommand -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Verb $Verb -Role $Role `
                    -ComputerName $ComputerName -Action ($Verb + ' service') -Output:$Output
            }
            Invoke-HvrServiceHarness -Verb $Verb -Output $Output @Arguments
        }
    }

    BeforeEach {
        $script:log = New-Object System.Collections.Generic.List[object]
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith {
            $log.Add(@($Argument))
            Get-HvrCannedResult -Argument $Argument
        }
    }

    It 'spells the role in kebab case and passes -ServiceName' {
        $output = @(InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Verb 'install' -Output $true -Arguments @{ Role = 'ReplicaServer'; ServiceName = 'hvr-rs' } })
        Get-HvrCliArgumentLog -Log $log | Should -Be @('service install --role=replica-server --service-name=hvr-rs')
        $output.Count | Should -Be 1
        $output[0].PSObject.TypeNames[0] | Should -Be 'HvReplica.ReplicationService'
    }

    It 'runs once per host and writes nothing without -Output' {
        $output = @(InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Verb 'uninstall' -Output $false -Arguments @{ Role = 'Agent'; ComputerName = 'hv-a', 'hv-b' } })
        Get-HvrCliArgumentLog -Log $log | Should -Be @('service uninstall --role=agent', 'service uninstall --role=agent')
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'hv-a' }
        $output.Count | Should -Be 0
    }

    It 'asks the calling cmdlet''s ShouldProcess: -WhatIf calls nothing' {
        $null = InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Verb 'install' -Output $true -Arguments @{ Role = 'Agent'; WhatIf = $true } }
        $log.Count | Should -Be 0
    }
}
