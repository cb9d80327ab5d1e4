function Get-HvrTestVmContent
{
    # The SHA-256 of each disk of a file-host VM, in disk order: what its guest would read.
    param
    (
        [Parameter(Mandatory)] [string] $StateDir,
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [string] $WorkDir
    )
    foreach ($disk in @(Get-HvrTestVmDisk -StateDir $StateDir -Name $Name))
    {
        Get-HvrDiskSha256 -Path $disk.Path -WorkDir $WorkDir
    }
}
