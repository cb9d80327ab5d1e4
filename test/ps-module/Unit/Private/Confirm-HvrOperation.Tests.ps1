BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Confirm-HvrOperation' {
    BeforeAll {
        # A cmdlet of the module that asks through Confirm-HvrOperation, as the public cmdlets do.
        $script:harness = {
            param ($ComputerName, $Arguments)
            function Invoke-HvrConfirmHarness
            {
                [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
                param ([string] $ComputerName)
                Confirm-HvrOperation -Cmdlet $PSCmdlet -Target 'web1' -ComputerName $ComputerName -Action 'Suspend replication'
            }
            Invoke-HvrConfirmHarness -ComputerName $ComputerName @Arguments
        }
    }

    It 'answers yes when the calling cmdlet is not asked to confirm' {
        $answer = InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -ComputerName '' -Arguments @{ Confirm = $false } }
        $answer | Should -BeOfType [bool]
        $answer | Should -BeTrue
    }

    It 'answers no under the calling cmdlet''s -WhatIf' {
        $answer = InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -ComputerName 'hv9' -Arguments @{ WhatIf = $true } }
        $answer | Should -BeFalse
    }

    It 'asks whether the host is this one, to name the target' {
        Mock -ModuleName HvReplica.Core -CommandName Test-HvrLocalComputer -MockWith { $false }
        $null = InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -ComputerName 'hv9' -Arguments @{ WhatIf = $true } }
        Should -Invoke -ModuleName HvReplica.Core -CommandName Test-HvrLocalComputer -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'hv9' }
    }
}
