# -AsJob runs the cmdlet in a background job (another PowerShell process). This runs one for real:
# the job imports the module from disk and calls the real CLI, so it proves the module path, the
# internal command name and the inherited HVR_CLI. The replication commands of the CLI may or may not
# exist yet; either way the CLI answers with an ERR_* code, which must come back as the job's error.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
    $script:compiledMain = Join-Path -Path $HvrRepositoryRoot -ChildPath 'dist/src/cli/main.js'
}

Describe 'Start-HvrCommandJob' {
    BeforeEach {
        $script:savedCli = $env:HVR_CLI
        $script:savedStateDir = $env:HVR_STATE_DIR
        $env:HVR_CLI = Join-Path -Path $HvrRepositoryRoot -ChildPath 'bin/hvreplica.js'
        $env:HVR_STATE_DIR = Join-Path -Path $TestDrive -ChildPath 'state'
    }
    AfterEach {
        $env:HVR_CLI = $savedCli
        $env:HVR_STATE_DIR = $savedStateDir
    }

    It 'runs the cmdlet in a job that reports the CLI''s answer' {
        if (-not (Test-Path -LiteralPath $compiledMain)) { throw "Run 'npx tsc -p .' first: $compiledMain is missing." }
        $job = Resume-HvrVMReplication -VMName 'hvr-pester-no-such-vm' -Resynchronize -ReplicationRelationshipType Simple -AsJob
        try
        {
            $job | Should -BeOfType [System.Management.Automation.Job]
            $job.Name | Should -Be 'Hvr:Resume-VMReplication'
            $null = Wait-Job -Job $job -Timeout 120
            $job.State | Should -Be 'Completed'
            $errors = @()
            $null = Receive-Job -Job $job -ErrorVariable errors -ErrorAction SilentlyContinue
            $errors.Count | Should -Be 1
            $errors[0].FullyQualifiedErrorId | Should -Match '^ERR_[A-Z_]+,'
            $errors[0].TargetObject | Should -Be 'hvr-pester-no-such-vm'
        }
        finally
        {
            Remove-Job -Job $job -Force
        }
    }
}
