# Module HvReplica: Hyper-V Replica's cmdlets over the hvreplica CLI. Functions carry Hyper-V's own names
# (Enable-VMReplication); DefaultCommandPrefix in HvReplica.Core.psd1 exports them as Enable-HvrVMReplication, so
# the module loads beside Hyper-V's. Keep this file and everything it loads valid for Windows
# PowerShell 5.1 (test/ps-module/QA/Compatibility.Tests.ps1 checks).

# Hyper-V's enums, compiled once per process: a second import must not redefine the types.
if ($null -eq ('HvReplica.VMReplicationState' -as [type]))
{
    Add-Type -Path (Join-Path -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Types') -ChildPath 'HvReplica.Enums.cs')
}

$script:HvrOutputSchema = Import-PowerShellDataFile -Path (Join-Path -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Data') -ChildPath 'OutputSchema.psd1')

foreach ($folder in @('Private', 'Public'))
{
    $files = @(Get-ChildItem -Path (Join-Path -Path $PSScriptRoot -ChildPath $folder) -Filter '*.ps1' -File)
    foreach ($file in $files)
    {
        . $file.FullName
    }
}
