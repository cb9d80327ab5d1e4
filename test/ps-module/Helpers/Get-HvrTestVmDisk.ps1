function Get-HvrTestVmDisk
{
    # The disks of a file-host VM ('hvreplica vm show'): id, virtual size and the path of the current
    # layer (the top of its differencing chain), the one whose content the guest sees.
    param
    (
        [Parameter(Mandatory)] [string] $StateDir,
        [Parameter(Mandatory)] [string] $Name
    )
    $vm = Invoke-HvrTestCli -StateDir $StateDir -Argument 'vm', 'show', $Name
    foreach ($disk in @($vm.disks))
    {
        [pscustomobject]@{ Id = $disk.id; VirtualSize = $disk.virtualSize; Path = $disk.currentPath }
    }
}
