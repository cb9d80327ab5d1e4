@{
    # No root module: the code is the nested module HvReplica.Core.psd1, which carries
    # DefaultCommandPrefix 'Hvr' so that its functions keep Hyper-V's names (Enable-VMReplication) and are
    # exported as Enable-HvrVMReplication. This manifest then lists the prefixed names. Why two manifests:
    # PowerShell's command discovery ignores DefaultCommandPrefix (PowerShell issue #12858, in 5.1 and 7).
    # A single manifest with the prefix would have to list Hyper-V's own names in FunctionsToExport, so
    # that typing Enable-VMReplication in a new session would auto-load this module instead of Hyper-V's
    # (and fail), and typing Enable-HvrVMReplication would not auto-load it at all. Listing the prefixed
    # names here makes both right. The cost: Import-Module -Prefix cannot choose another prefix.
    NestedModules        = @('HvReplica.Core.psd1')
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f4c7e-8a43-4d8e-9f51-2c6b1f0a7d93'
    Author               = 'hvreplica contributors'
    CompanyName          = 'hvreplica'
    Copyright            = '(c) hvreplica contributors. Apache-2.0.'
    Description          = 'Hyper-V Replica''s replication cmdlets for hvreplica: enable, monitor and fail over VM replication. Exported with the Hvr prefix so that it loads beside the Hyper-V module.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Core', 'Desktop')

    # Explicit lists (no wildcards): auto-loading reads them without running the module.
    FunctionsToExport    = @(
        'Enable-HvrVMReplication'
        'Set-HvrVMReplication'
        'Get-HvrVMReplication'
        'Measure-HvrVMReplication'
        'Remove-HvrVMReplication'
        'Suspend-HvrVMReplication'
        'Resume-HvrVMReplication'
        'Stop-HvrVMReplication'
        'Reset-HvrVMReplicationStatistics'
        'Start-HvrVMInitialReplication'
        'Stop-HvrVMInitialReplication'
        'Import-HvrVMInitialReplication'
        'Start-HvrVMFailover'
        'Complete-HvrVMFailover'
        'Stop-HvrVMFailover'
        'Get-HvrVMSnapshot'
        'Test-HvrVMReplicationConnection'
        'Get-HvrVMReplicationServer'
        'Set-HvrVMReplicationServer'
        'New-HvrVMReplicationAuthorizationEntry'
        'Get-HvrVMReplicationAuthorizationEntry'
        'Set-HvrVMReplicationAuthorizationEntry'
        'Remove-HvrVMReplicationAuthorizationEntry'
        'Register-HvrReplicationTask'
        'Unregister-HvrReplicationTask'
        'Install-HvrReplicationService'
        'Uninstall-HvrReplicationService'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    TypesToProcess       = @('Types/HvReplica.Types.ps1xml')
    FormatsToProcess     = @('Formats/HvReplica.Format.ps1xml')

    PrivateData          = @{
        PSData = @{
            Tags       = @('Hyper-V', 'Replica', 'Replication', 'DisasterRecovery', 'Failover', 'PSEdition_Core', 'PSEdition_Desktop', 'Windows', 'Linux')
            LicenseUri = 'https://www.apache.org/licenses/LICENSE-2.0'
        }
    }
}
