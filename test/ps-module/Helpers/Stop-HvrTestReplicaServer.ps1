function Stop-HvrTestReplicaServer
{
    # Stops a server started by Start-HvrTestReplicaServer, by its process id: SIGTERM first (a graceful
    # stop) where there are signals, then a kill if it has not exited within a few seconds.
    param
    (
        [AllowNull()] [System.Diagnostics.Process] $Process
    )
    if ($null -eq $Process -or $Process.HasExited) { return }
    if ([System.IO.Path]::DirectorySeparatorChar -eq '/')
    {
        & kill -s TERM $Process.Id 2>$null
        if (-not $Process.WaitForExit(10000)) { $Process.Kill() }
    }
    else
    {
        $Process.Kill()
    }
    $null = $Process.WaitForExit(10000)
}
