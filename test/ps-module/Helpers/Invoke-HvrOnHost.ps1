function Invoke-HvrOnHost
{
    # Runs module cmdlets as if on one host: the module calls the real CLI (HVR_CLI = bin/hvreplica.js)
    # with that host's state directory (HVR_STATE_DIR), for this call only; both are restored after.
    param
    (
        [Parameter(Mandatory)] [string] $StateDir,
        [Parameter(Mandatory)] [scriptblock] $ScriptBlock
    )
    $savedCli = $env:HVR_CLI
    $savedStateDir = $env:HVR_STATE_DIR
    try
    {
        $env:HVR_CLI = Join-Path -Path $script:HvrRepositoryRoot -ChildPath 'bin/hvreplica.js'
        $env:HVR_STATE_DIR = $StateDir
        & $ScriptBlock
    }
    finally
    {
        $env:HVR_CLI = $savedCli
        $env:HVR_STATE_DIR = $savedStateDir
    }
}
