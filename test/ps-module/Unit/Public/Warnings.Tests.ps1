# The CLI's warnings reach PowerShell's warning stream for every cmdlet, without -Verbose: the cmdlets run
# for real through Invoke-HvrCli (the one function that runs the CLI) against a small Node program in
# TestDrive that logs like hvreplica does with --json (one JSON object per stderr line) and answers with
# the contract's example object. Complete-HvrVMFailover's "turn the VM off, then run Complete again" is
# the warning an administrator must not miss.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule

    function script:Set-TestCli
    {
        # A CLI that logs `Level` lines (message `Message`) and then succeeds with `Fixture` as its result,
        # or fails with `Code` when that is given.
        param ([string] $Fixture, [string[]] $Level, [string] $Message, [string] $Code)
        $result = Get-Content -Raw -Path (Join-Path -Path $script:HvrFixturePath -ChildPath "$Fixture.json")
        $logLines = foreach ($one in $Level) { 'process.stderr.write(JSON.stringify({ component: "failover", level: "' + $one + '", message: ' + (ConvertTo-Json -InputObject "$one $Message" -Compress) + ' }) + "\n");' }
        $answer = if ($Code) {
            'process.stdout.write(JSON.stringify({ schemaVersion: 1, command: "x", ok: false, exitCode: 4, error: { code: "' + $Code + '", message: "refused" } }) + "\n"); process.exitCode = 4;'
        } else {
            'process.stdout.write(JSON.stringify({ schemaVersion: 1, command: "x", ok: true, result: [' + $result.Trim() + '] }) + "\n");'
        }
        $path = Join-Path -Path $TestDrive -ChildPath ('cli-{0}.mjs' -f [guid]::NewGuid())
        Set-Content -Path $path -Value (($logLines -join "`n") + "`n" + $answer) -Encoding Ascii
        $env:HVR_CLI = $path
    }
}

Describe 'Warnings of the CLI' {
    BeforeEach {
        $script:savedCli = $env:HVR_CLI
    }
    AfterEach {
        $env:HVR_CLI = $savedCli
    }

    It 'Complete-HvrVMFailover shows the CLI''s warning without -Verbose' {
        Set-TestCli -Fixture 'virtual-machine' -Level 'warn', 'info' -Message "VM 'web1' still runs on recovery point P; turn it off (Stop-VM) when convenient and run Complete-HvrVMFailover again"
        $output = @(Complete-HvrVMFailover -VMName 'web1' -Confirm:$false -Passthru -WarningVariable warned -WarningAction SilentlyContinue)
        $warned | Should -HaveCount 1
        $warned[0].Message | Should -BeExactly "warn VM 'web1' still runs on recovery point P; turn it off (Stop-VM) when convenient and run Complete-HvrVMFailover again"
        $output | Should -HaveCount 1
        $output[0].PSObject.TypeNames | Should -Contain 'HvReplica.VirtualMachine'
    }

    It 'reaches the warning stream of <Cmdlet> too, and leaves info lines to -Verbose' -ForEach @(
        @{ Cmdlet = 'Get-HvrVMReplication'; Fixture = 'vm-replication'; Parameters = @{ VMName = 'web1' } }
        @{ Cmdlet = 'Measure-HvrVMReplication'; Fixture = 'vm-replication-health'; Parameters = @{ VMName = 'web1' } }
        @{ Cmdlet = 'Remove-HvrVMReplication'; Fixture = 'vm-replication'; Parameters = @{ VMName = 'web1'; Confirm = $false } }
        @{ Cmdlet = 'Get-HvrVMReplicationServer'; Fixture = 'replication-server'; Parameters = @{} }
    ) {
        Set-TestCli -Fixture $Fixture -Level 'info', 'warn' -Message 'something to know'
        $streams = @(& $Cmdlet @Parameters -Verbose 3>&1 4>&1)
        $warnings = @($streams | Where-Object { $_ -is [System.Management.Automation.WarningRecord] })
        $verbose = @($streams | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $warnings.Message | Should -Be @('warn something to know')
        ($verbose.Message -join "`n") | Should -Match '"level":"info"'
        ($verbose.Message -join "`n") | Should -Not -Match '"level":"warn"'
    }

    It 'keeps the fields of a warning line (its reason, its VM) after the message' {
        $path = Join-Path -Path $TestDrive -ChildPath ('cli-{0}.mjs' -f [guid]::NewGuid())
        $result = (Get-Content -Raw -Path (Join-Path -Path $script:HvrFixturePath -ChildPath 'vm-replication.json')).Trim()
        Set-Content -Encoding Ascii -Path $path -Value @(
            'process.stderr.write(JSON.stringify({ component: "replica-vms", level: "warn", message: "applying received logs failed; tried again later", vm: "web1", error: "no space left on device", timestamp: "2026-12-07T07:00:00.000Z", service: "hvreplica" }) + "\n");'
            'process.stdout.write(JSON.stringify({ schemaVersion: 1, command: "x", ok: true, result: [' + $result + '] }) + "\n");'
        )
        $env:HVR_CLI = $path
        $null = Get-HvrVMReplication -VMName 'web1' -WarningVariable warned -WarningAction SilentlyContinue
        $warned | Should -HaveCount 1
        $warned[0].Message | Should -BeExactly 'applying received logs failed; tried again later (vm: web1; error: no space left on device)'
    }

    It 'honours -WarningAction Ignore' {
        Set-TestCli -Fixture 'vm-replication' -Level 'warn' -Message 'quiet please'
        $streams = @(Get-HvrVMReplication -VMName 'web1' -WarningAction Ignore 3>&1)
        @($streams | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }) | Should -HaveCount 0
    }

    It 'shows an error line as a warning when the command succeeded, and leaves it to the error record when it failed' {
        Set-TestCli -Fixture 'vm-replication' -Level 'error' -Message 'background step failed'
        $null = Get-HvrVMReplication -VMName 'web1' -WarningVariable warned -WarningAction SilentlyContinue
        $warned.Message | Should -Be @('error background step failed')

        Set-TestCli -Fixture 'vm-replication' -Level 'error' -Message 'refused here' -Code 'ERR_INVALID_STATE'
        $null = Get-HvrVMReplication -VMName 'web1' -WarningVariable failedWarned -WarningAction SilentlyContinue -ErrorVariable failures -ErrorAction SilentlyContinue
        $failedWarned | Should -HaveCount 0
        $failures | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -BeExactly 'ERR_INVALID_STATE,Get-HvrVMReplication'
    }
}
