function Start-HvrTestReplicaServer
{
    # Starts 'hvreplica server run' on the loopback address as a background process for one host's state
    # directory, and waits until it listens (it writes <state>/replica/server.pid.json with its process id
    # then). Returns the process; Stop-HvrTestReplicaServer ends it. Its output goes to files in the state
    # directory, for the failure message. A recovery point is sealed every cycle, as in the end-to-end tests,
    # so that each cycle can be failed over to.
    param
    (
        [Parameter(Mandatory)] [string] $StateDir,
        [int] $TimeoutSec = 60
    )
    $cli = Join-Path -Path $script:HvrRepositoryRoot -ChildPath 'bin/hvreplica.js'
    $outFile = Join-Path -Path $StateDir -ChildPath 'server-run.out'
    $errFile = Join-Path -Path $StateDir -ChildPath 'server-run.err'
    $node = (Get-Command -Name 'node' -CommandType Application | Select-Object -First 1).Source
    $arguments = @($cli, 'server', 'run', '--listen-address=127.0.0.1', '--recovery-point-interval-sec=0.001', '--json', "--state-dir=$StateDir")
    $process = Start-Process -FilePath $node -ArgumentList $arguments -RedirectStandardOutput $outFile -RedirectStandardError $errFile -PassThru
    $runtime = Join-Path -Path (Join-Path -Path $StateDir -ChildPath 'replica') -ChildPath 'server.pid.json'
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ([DateTime]::UtcNow -lt $deadline)
    {
        if ($process.HasExited)
        {
            throw "hvreplica server run exited with code $($process.ExitCode) during start-up: $(Get-Content -Raw -LiteralPath $errFile)"
        }
        if (Test-Path -LiteralPath $runtime)
        {
            $recorded = $null
            try { $recorded = Get-Content -Raw -LiteralPath $runtime | ConvertFrom-Json -ErrorAction Stop } catch { $recorded = $null }
            if ($null -ne $recorded -and $recorded.pid -eq $process.Id) { return $process }
        }
        Start-Sleep -Milliseconds 100
    }
    Stop-HvrTestReplicaServer -Process $process
    throw "hvreplica server run did not start listening within $TimeoutSec s: $(Get-Content -Raw -LiteralPath $errFile)"
}
