@{
    # The module's code: Hyper-V's command names with DefaultCommandPrefix 'Hvr'. It is loaded only as the
    # nested module of HvReplica.psd1 (see the note there); Import-Module HvReplica, not this file.
    RootModule           = 'HvReplica.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '8e6a2d41-7c3b-4f0e-a5d2-9b1c4e7f3a60'
    Author               = 'hvreplica contributors'
    CompanyName          = 'hvreplica'
    Copyright            = '(c) hvreplica contributors. Apache-2.0.'
    Description          = 'Implementation of the HvReplica module.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Core', 'Desktop')

    # Hyper-V's names inside, Enable-HvrVMReplication outside: the prefix applies when HvReplica.psd1
    # imports this manifest as its nested module.
    DefaultCommandPrefix = 'Hvr'

    FunctionsToExport    = @(
        'Enable-VMReplication'
        'Set-VMReplication'
        'Get-VMReplication'
        'Measure-VMReplication'
        'Remove-VMReplication'
        'Suspend-VMReplication'
        'Resume-VMReplication'
        'Stop-VMReplication'
        'Reset-VMReplicationStatistics'
        'Start-VMInitialReplication'
        'Stop-VMInitialReplication'
        'Import-VMInitialReplication'
        'Start-VMFailover'
        'Complete-VMFailover'
        'Stop-VMFailover'
        'Get-VMSnapshot'
        'Test-VMReplicationConnection'
        'Get-VMReplicationServer'
        'Set-VMReplicationServer'
        'New-VMReplicationAuthorizationEntry'
        'Get-VMReplicationAuthorizationEntry'
        'Set-VMReplicationAuthorizationEntry'
        'Remove-VMReplicationAuthorizationEntry'
        'Register-ReplicationTask'
        'Unregister-ReplicationTask'
        'Install-ReplicationService'
        'Uninstall-ReplicationService'
    )
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
}
