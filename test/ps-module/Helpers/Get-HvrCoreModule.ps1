function Get-HvrCoreModule
{
    # The nested module that holds the code (HvReplica.Core.psd1): where private functions live and mocks go.
    (Get-Module -Name HvReplica).NestedModules | Where-Object { $_.Name -eq 'HvReplica.Core' }
}
