# -WhatIf and -Confirm, with Hyper-V's ConfirmImpact: failover confirms by default.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
    function script:Get-ConfirmImpact
    {
        param ([string] $Name)
        $binding = (Get-Command -Name $Name).ScriptBlock.Attributes | Where-Object { $_ -is [System.Management.Automation.CmdletBindingAttribute] }
        if (-not $binding.SupportsShouldProcess) { return 'None' }
        [string]$binding.ConfirmImpact
    }
}

Describe 'ShouldProcess' {
    BeforeEach {
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith { Get-HvrCannedResult -Argument $Argument }
    }

    It '<Name> has ConfirmImpact <Impact>' -ForEach @(
        @{ Name = 'Start-HvrVMFailover'; Impact = 'High' }
        @{ Name = 'Complete-HvrVMFailover'; Impact = 'High' }
        @{ Name = 'Stop-HvrVMFailover'; Impact = 'Medium' }
        @{ Name = 'Enable-HvrVMReplication'; Impact = 'Medium' }
        @{ Name = 'Set-HvrVMReplication'; Impact = 'Medium' }
        @{ Name = 'Remove-HvrVMReplication'; Impact = 'Medium' }
        @{ Name = 'Resume-HvrVMReplication'; Impact = 'Medium' }
        @{ Name = 'Stop-HvrVMReplication'; Impact = 'Medium' }
        @{ Name = 'Set-HvrVMReplicationServer'; Impact = 'Medium' }
        @{ Name = 'Uninstall-HvrReplicationService'; Impact = 'High' }
        @{ Name = 'Get-HvrVMReplication'; Impact = 'None' }
        @{ Name = 'Measure-HvrVMReplication'; Impact = 'None' }
        @{ Name = 'Test-HvrVMReplicationConnection'; Impact = 'None' }
    ) {
        Get-ConfirmImpact -Name $Name | Should -Be $Impact
    }

    It 'a failover asks for confirmation under the default ConfirmPreference and does nothing when refused' {
        # The default ConfirmPreference is High, so a High-impact cmdlet prompts; the host answers "No" here.
        $ps = [powershell]::Create()
        try
        {
            $null = $ps.AddScript({
                    param ($Manifest)
                    Import-Module $Manifest
                    $ConfirmPreference = 'High'
                    & ((Get-Module HvReplica).NestedModules | Where-Object Name -eq 'HvReplica.Core') { function script:Invoke-HvrCli { throw 'the CLI must not run' } }
                    Start-HvrVMFailover -VMName 'web1'
                }).AddArgument($HvrManifestPath)
            $thrown = $null
            try { $null = $ps.Invoke() } catch { $thrown = $_ }
            # A runspace without an interactive host cannot prompt: the confirmation itself fails, which
            # proves that Start-HvrVMFailover asked; the CLI never ran.
            $messages = @($ps.Streams.Error | ForEach-Object { $_.Exception.Message }) + @($thrown | ForEach-Object { $_.Exception.Message })
            ($messages -join "`n") | Should -Match 'prompt|interactive|host'
            ($messages -join "`n") | Should -Not -Match 'the CLI must not run'
        }
        finally
        {
            $ps.Dispose()
        }
    }

    It 'a Medium-impact cmdlet runs without asking under the default ConfirmPreference' {
        $ConfirmPreference = 'High'
        Suspend-HvrVMReplication -VMName 'web1'
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly
    }

    It 'a failover with -Confirm:$false runs' {
        Start-HvrVMFailover -VMName 'web1' -Confirm:$false
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $Argument[0] -eq 'failover' }
    }

    It '-WhatIf on a failover says what it would do and does not call the CLI' {
        $output = Start-HvrVMFailover -VMName 'web1' -Prepare -WhatIf 6>&1
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 0 -Exactly
    }

    It '-WhatIf with AsReplicationFromAnyServer neither lists entries nor changes the server' {
        Set-HvrVMReplicationServer -ReplicationAllowedFromAnyServer $true -DefaultStorageLocation '/srv/r' -WhatIf
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 0 -Exactly
    }

    It 'allowing any server with -Force sends --force without asking' {
        Set-HvrVMReplicationServer -ReplicationAllowedFromAnyServer $true -DefaultStorageLocation '/srv/r' -Force
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter {
            ($Argument -join ' ') -eq 'server set --replication-allowed-from-any-server=true --default-storage-location=/srv/r --force'
        }
    }

    It 'allowing any server when only the "*" entry exists needs no question' {
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -ParameterFilter { $Argument[0] -eq 'auth' } -MockWith {
            $entry = Get-HvrFixture -Name 'authorization-entry'
            $entry.AllowedPrimaryServer = '*'
            New-HvrCliAnswer -Result @($entry)
        }
        Set-HvrVMReplicationServer -ReplicationAllowedFromAnyServer $true -DefaultStorageLocation '/srv/r'
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { ($Argument -join ' ') -like 'server set * --force' }
    }
}
