# Invoke-HvrCli is the one function that runs the CLI. These tests run it for real: against the
# project's own CLI (bin/hvreplica.js, `host info` exists today) and, for the failure paths the real
# CLI cannot be made to show, against tiny Node programs written to TestDrive that print what a broken
# or newer CLI would print.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
    $script:cliScript = Join-Path -Path $HvrRepositoryRoot -ChildPath 'bin/hvreplica.js'
    $script:compiledMain = Join-Path -Path $HvrRepositoryRoot -ChildPath 'dist/src/cli/main.js'
    $script:packageVersion = (Get-Content -Raw -Path (Join-Path -Path $HvrRepositoryRoot -ChildPath 'package.json') | ConvertFrom-Json).version

    function script:New-TestCliProgram
    {
        param ([string] $Name, [string] $Source)
        $path = Join-Path -Path $TestDrive -ChildPath $Name
        Set-Content -Path $path -Value $Source -Encoding Ascii
        $path
    }
}

Describe 'Invoke-HvrCli' {
    BeforeEach {
        $script:savedCli = $env:HVR_CLI
        $script:savedStateDir = $env:HVR_STATE_DIR
        $env:HVR_STATE_DIR = Join-Path -Path $TestDrive -ChildPath 'state'
    }
    AfterEach {
        $env:HVR_CLI = $savedCli
        $env:HVR_STATE_DIR = $savedStateDir
    }

    Context 'with the real hvreplica CLI' {
        BeforeAll {
            if (-not (Test-Path -LiteralPath $compiledMain))
            {
                throw "The CLI is not compiled ($compiledMain is missing): run 'npx tsc -p .' (npm test does) before the Pester suites."
            }
        }

        It 'runs host info and returns the result of the versioned object' {
            $env:HVR_CLI = $cliScript
            $answer = InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'host', 'info' }
            $answer.Error | Should -BeNullOrEmpty
            $result = $answer.Result
            $result.version | Should -Be $packageVersion
            $result.addonVersion | Should -Not -BeNullOrEmpty
            $result.platform | Should -BeIn @('win32', 'posix')
            $result.stateDir | Should -Be $env:HVR_STATE_DIR
        }

        It 'turns a CLI error into an ErrorRecord with the CLI''s code and category' {
            $env:HVR_CLI = $cliScript
            $answer = InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'no-such-noun', 'get' -TargetObject 'web1' }
            $answer.Result | Should -BeNullOrEmpty
            $thrown = $answer.Error
            $thrown.FullyQualifiedErrorId | Should -BeExactly 'ERR_USAGE'
            $thrown.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $thrown.TargetObject | Should -Be 'web1'
        }

        It 'is not disturbed by ErrorActionPreference Stop in the caller' {
            $env:HVR_CLI = $cliScript
            $answer = InModuleScope HvReplica.Core {
                $ErrorActionPreference = 'Stop'
                Invoke-HvrCli -Argument 'host', 'info'
            }
            $answer.Result.version | Should -Be $packageVersion
        }
    }

    Context 'when the CLI misbehaves or is missing' {
        It 'reports a missing HVR_CLI path as HvrCliNotFound' {
            $env:HVR_CLI = Join-Path -Path $TestDrive -ChildPath 'nothing-here.js'
            $answer = InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'host', 'info' }
            $answer.Error.FullyQualifiedErrorId | Should -BeExactly 'HvrCliNotFound'
            $answer.Error.CategoryInfo.Category | Should -Be 'NotInstalled'
        }

        It 'reports output that is not JSON as HvrCliInvalidOutput' {
            $env:HVR_CLI = New-TestCliProgram -Name 'not-json.mjs' -Source "process.stdout.write('Usage: something else\n');"
            $thrown = (InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'host', 'info' }).Error
            $thrown.FullyQualifiedErrorId | Should -BeExactly 'HvrCliInvalidOutput'
            $thrown.CategoryInfo.Category | Should -Be 'InvalidResult'
            $thrown.ErrorDetails.Message | Should -Match 'Usage: something else'
        }

        It 'refuses a schemaVersion it does not know' {
            $env:HVR_CLI = New-TestCliProgram -Name 'v2.mjs' -Source 'process.stdout.write(JSON.stringify({ schemaVersion: 2, command: "host info", ok: true, result: {} }) + "\n");'
            (InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'host', 'info' }).Error.FullyQualifiedErrorId | Should -BeExactly 'HvrCliSchemaVersion'
        }

        It 'refuses success with a non-zero exit code' {
            $env:HVR_CLI = New-TestCliProgram -Name 'liar.mjs' -Source 'process.stdout.write(JSON.stringify({ schemaVersion: 1, command: "x", ok: true, result: {} }) + "\n"); process.exitCode = 4;'
            (InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'x' }).Error.FullyQualifiedErrorId | Should -BeExactly 'HvrCliInvalidOutput'
        }
    }

    Context 'arguments and streams' {
        It 'passes every argument intact, spaces, quotes-free dashes and Unicode included, and adds --json' {
            $env:HVR_CLI = New-TestCliProgram -Name 'echo-argv.mjs' -Source 'process.stdout.write(JSON.stringify({ schemaVersion: 1, command: "echo", ok: true, result: { argv: process.argv.slice(2) } }) + "\n");'
            $sent = @('replication', 'enable', '--vm-name=web 1 (prod)', '--excluded-vhd-path=-odd.vhdx', ('--trust-group=caf' + [char]0x00E9))
            $answer = InModuleScope HvReplica.Core -Parameters @{ Sent = $sent } { Invoke-HvrCli -Argument $Sent }
            $answer.Result.argv | Should -Be ($sent + '--json')
        }

        It 'shows the CLI''s stderr as verbose output, never as result or error' {
            $env:HVR_CLI = New-TestCliProgram -Name 'logs.mjs' -Source 'process.stderr.write("info: cycle 7 sent\n"); process.stdout.write(JSON.stringify({ schemaVersion: 1, command: "x", ok: true, result: [1, 2] }) + "\n");'
            $output = InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'x' -Verbose 4>&1 }
            $verbose = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
            $values = @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            ($verbose.Message -join "`n") | Should -Match 'cycle 7 sent'
            $values.Count | Should -Be 1
            $values[0].Result | Should -Be @(1, 2)
            $values[0].Error | Should -BeNullOrEmpty
        }
    }

    Context 'on another host' {
        It 'runs the same command there through PowerShell remoting' {
            Mock -ModuleName HvReplica.Core -CommandName Invoke-Command -MockWith {
                [pscustomobject]@{ Output = '{"schemaVersion":1,"command":"replication get","ok":true,"result":[]}'; ExitCode = 0 }
            }
            $credential = New-Object System.Management.Automation.PSCredential ('admin', (ConvertTo-SecureString 'x' -AsPlainText -Force))
            $answer = InModuleScope HvReplica.Core -Parameters @{ C = $credential } {
                Invoke-HvrCli -Argument 'replication', 'get', '--vm-name=web1' -ComputerName 'hv-remote-9.contoso.com' -Credential $C
            }
            $answer.Error | Should -BeNullOrEmpty
            @($answer.Result).Count | Should -Be 0
            Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-Command -Times 1 -Exactly -ParameterFilter {
                $ComputerName -eq 'hv-remote-9.contoso.com' -and $Credential.UserName -eq 'admin' -and
                (($ArgumentList[0]) -join ' ') -eq 'replication get --vm-name=web1 --json'
            }
        }

        It 'shows the remote CLI''s warnings on the warning stream and the rest of its log as verbose' {
            Mock -ModuleName HvReplica.Core -CommandName Invoke-Command -MockWith {
                [pscustomobject]@{
                    Output   = '{"schemaVersion":1,"command":"failover complete","ok":true,"result":[]}'
                    Log      = @('{"level":"warn","message":"turn it off, then run Complete-HvrVMFailover again"}', '{"level":"info","message":"failover completed"}')
                    ExitCode = 0
                }
            }
            $streams = @(InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'failover', 'complete' -ComputerName 'hv-remote-9' -Verbose 3>&1 4>&1 })
            @($streams | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }).Message | Should -Be @('turn it off, then run Complete-HvrVMFailover again')
            (@($streams | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n") | Should -Match 'failover completed'
        }

        It 'maps the remote CLI''s error like a local one' {
            Mock -ModuleName HvReplica.Core -CommandName Invoke-Command -MockWith {
                [pscustomobject]@{ Output = '{"schemaVersion":1,"command":"replication get","ok":false,"exitCode":3,"error":{"code":"ERR_NOT_FOUND","message":"no VM web9"}}'; ExitCode = 3 }
            }
            $thrown = (InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'replication', 'get' -ComputerName 'hv-remote-9' }).Error
            $thrown.FullyQualifiedErrorId | Should -BeExactly 'ERR_NOT_FOUND'
            $thrown.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }

        It 'reports a remoting failure as HvrRemotingFailed' {
            Mock -ModuleName HvReplica.Core -CommandName Invoke-Command -MockWith { Write-Error -Message 'WinRM cannot complete the operation' -ErrorAction Continue }
            $problem = (InModuleScope HvReplica.Core { Invoke-HvrCli -Argument 'server', 'get' -ComputerName 'hv-remote-9' }).Error
            $problem.FullyQualifiedErrorId | Should -BeExactly 'HvrRemotingFailed'
            $problem.CategoryInfo.Category | Should -Be 'ConnectionError'
            $problem.ErrorDetails.Message | Should -Match 'WinRM cannot complete'
        }
    }
}
