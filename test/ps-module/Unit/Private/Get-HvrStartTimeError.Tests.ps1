BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
    $script:now = [datetime]::new(2026, 11, 25, 12, 0, 0, [DateTimeKind]::Utc)
}

Describe 'Get-HvrStartTimeError' {
    It 'accepts <Offset> from now' -ForEach @(
        @{ Offset = [timespan]::FromMinutes(1) }
        @{ Offset = [timespan]::FromDays(3) }
        @{ Offset = [timespan]::FromDays(7) }
    ) {
        $problem = InModuleScope HvReplica.Core -Parameters @{ Start = $now + $Offset; Now = $now } {
            Get-HvrStartTimeError -StartTime $Start -ParameterName 'InitialReplicationStartTime' -Now $Now
        }
        $problem | Should -BeNullOrEmpty
    }

    It 'refuses <Offset> from now' -ForEach @(
        @{ Offset = [timespan]::Zero }
        @{ Offset = [timespan]::FromMinutes(-5) }
        @{ Offset = [timespan]::FromDays(7).Add([timespan]::FromSeconds(1)) }
        @{ Offset = [timespan]::FromDays(30) }
    ) {
        $problem = InModuleScope HvReplica.Core -Parameters @{ Start = $now + $Offset; Now = $now } {
            Get-HvrStartTimeError -StartTime $Start -ParameterName 'InitialReplicationStartTime' -Now $Now
        }
        $problem.FullyQualifiedErrorId | Should -BeExactly 'HvrStartTimeOutOfRange'
        $problem.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $problem.ErrorDetails.Message | Should -Match 'InitialReplicationStartTime'
    }
}
