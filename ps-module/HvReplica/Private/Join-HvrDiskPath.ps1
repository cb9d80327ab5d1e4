function Join-HvrDiskPath
{
    <#
    .SYNOPSIS
        Joins disk paths given as strings with the Path of disk objects, leaving out empty ones.
    .DESCRIPTION
        Enable-VMReplication (-ExcludedVhdPath/-ExcludedVhd) and Set-VMReplication
        (-ReplicatedDiskPaths/-ReplicatedDisks) take disks both ways, as Hyper-V's do; the CLI takes paths.
    .PARAMETER Path
        Disk paths.
    .PARAMETER Disk
        Disk objects (Hyper-V's from Get-VMHardDiskDrive, or any object with a Path property).
    .EXAMPLE
        Join-HvrDiskPath -Path '/vm/a.vhdx' -Disk (Get-VMHardDiskDrive -VMName web1)
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param
    (
        [Parameter()]
        [string[]]
        $Path,

        [Parameter()]
        [psobject[]]
        $Disk
    )

    @($Path) + @($Disk | ForEach-Object { $_.Path }) | Where-Object { -not [string]::IsNullOrEmpty($_) }
}
