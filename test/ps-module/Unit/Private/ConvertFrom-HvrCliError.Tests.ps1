BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'ConvertFrom-HvrCliError' {
    It 'maps exit code <ExitCode> (<Code>) to <Category>' -ForEach @(
        @{ ExitCode = 1; Code = 'ERR_IO'; Category = 'NotSpecified' }
        @{ ExitCode = 2; Code = 'ERR_INVALID_ARGUMENT'; Category = 'InvalidArgument' }
        @{ ExitCode = 3; Code = 'ERR_NOT_FOUND'; Category = 'ObjectNotFound' }
        @{ ExitCode = 4; Code = 'ERR_INVALID_STATE'; Category = 'InvalidOperation' }
        @{ ExitCode = 5; Code = 'ERR_UNAUTHORIZED'; Category = 'AuthenticationError' }
        @{ ExitCode = 6; Code = 'ERR_RESYNC_REQUIRED'; Category = 'InvalidOperation' }
        @{ ExitCode = 7; Code = 'ERR_NOT_SUPPORTED'; Category = 'NotImplemented' }
        @{ ExitCode = 70; Code = 'ERR_INTERNAL'; Category = 'NotSpecified' }
        @{ ExitCode = 4; Code = 'ERR_ALREADY_EXISTS'; Category = 'ResourceExists' }
        @{ ExitCode = 4; Code = 'ERR_REPLICATION_REMOVED'; Category = 'InvalidOperation' }
        @{ ExitCode = 1; Code = 'ERR_CONNECTION'; Category = 'ConnectionError' }
        @{ ExitCode = 1; Code = 'ERR_TIMEOUT'; Category = 'OperationTimeout' }
        @{ ExitCode = 1; Code = 'ERR_BUSY'; Category = 'ResourceBusy' }
        @{ ExitCode = 1; Code = 'ERR_PERMISSION'; Category = 'PermissionDenied' }
    ) {
        $envelope = [pscustomobject]@{
            schemaVersion = 1; command = 'replication enable'; ok = $false; exitCode = $ExitCode
            error = [pscustomobject]@{ code = $Code; message = 'it went wrong' }
        }
        $record = InModuleScope HvReplica.Core -Parameters @{ Envelope = $envelope } {
            ConvertFrom-HvrCliError -Envelope $Envelope -TargetObject 'web1'
        }
        $record.CategoryInfo.Category | Should -Be $Category
        $record.FullyQualifiedErrorId | Should -BeExactly $Code
        $record.TargetObject | Should -Be 'web1'
        $record.ErrorDetails.Message | Should -Be "it went wrong ($Code)"
    }

    It 'uses the process exit code when the envelope has none' {
        $envelope = [pscustomobject]@{ schemaVersion = 1; ok = $false; error = [pscustomobject]@{ code = 'ERR_X'; message = 'm' } }
        $record = InModuleScope HvReplica.Core -Parameters @{ Envelope = $envelope } { ConvertFrom-HvrCliError -Envelope $Envelope -ExitCode 3 }
        $record.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'still reports when the CLI gave no error object' {
        $envelope = [pscustomobject]@{ schemaVersion = 1; ok = $false; exitCode = 70; error = $null }
        $record = InModuleScope HvReplica.Core -Parameters @{ Envelope = $envelope } { ConvertFrom-HvrCliError -Envelope $Envelope }
        $record.FullyQualifiedErrorId | Should -BeExactly 'ERR_UNKNOWN'
        $record.ErrorDetails.Message | Should -Match 'without saying why'
    }
}
