function Invoke-HvrTestCli
{
    # Runs the real CLI (node bin/hvreplica.js <Argument> --json --state-dir=<StateDir>) for what the
    # module has no cmdlet for (certificates, file-host VMs, the guest workload, one replication cycle,
    # disk images) and returns the envelope's result. A failure throws with the CLI's error and its log,
    # unless -AllowFailure, which returns the whole envelope (ok, exitCode, error) instead.
    param
    (
        [Parameter(Mandatory)] [string[]] $Argument,
        [Parameter(Mandatory)] [string] $StateDir,
        [switch] $AllowFailure
    )
    $cli = Join-Path -Path $script:HvrRepositoryRoot -ChildPath 'bin/hvreplica.js'
    $allArguments = @($cli) + @($Argument) + @('--json', "--state-dir=$StateDir")
    $errorFile = [System.IO.Path]::GetTempFileName()
    $savedLevel = $env:HVR_LOG_LEVEL
    try
    {
        $env:HVR_LOG_LEVEL = 'warn'
        $stdout = & node @allArguments 2>$errorFile
        $exitCode = $LASTEXITCODE
        $stderr = Get-Content -Raw -LiteralPath $errorFile
    }
    finally
    {
        $env:HVR_LOG_LEVEL = $savedLevel
        Remove-Item -LiteralPath $errorFile -Force -ErrorAction SilentlyContinue
    }
    $text = @($stdout) -join "`n"
    try { $envelope = $text | ConvertFrom-Json -ErrorAction Stop }
    catch { throw "hvreplica $($Argument -join ' ') (exit $exitCode) printed no JSON object: $text $stderr" }
    if ($AllowFailure) { return $envelope }
    if ($envelope.ok -ne $true -or $exitCode -ne 0)
    {
        throw "hvreplica $($Argument -join ' ') failed (exit $exitCode): $($envelope.error.code) $($envelope.error.message) $stderr"
    }
    # An array result is written as one object, so that a one-element array stays an array.
    if ($envelope.result -is [array]) { return , $envelope.result }
    $envelope.result
}
