function Wait-HvrTestInitialReplication
{
    # Start-HvrVMInitialReplication returns once the copy has started, as Hyper-V's does; an administrator
    # then watches Get-HvrVMReplication until the VM is Replicating. This does the same and returns the
    # replication object, or throws with the state and health details when the copy ends any other way
    # (Error, back to ReadyForInitialReplication) or is still running after TimeoutSec.
    param
    (
        [Parameter(Mandatory)] [string] $StateDir,
        [Parameter(Mandatory)] [string] $VMName,
        [int] $TimeoutSec = 600
    )
    $deadline = [datetime]::UtcNow.AddSeconds($TimeoutSec)
    while ($true)
    {
        $replication = Invoke-HvrOnHost -StateDir $StateDir { Get-HvrVMReplication -VMName $VMName -ErrorAction Stop }
        $state = [string]$replication.State
        if ($state -eq 'Replicating') { return $replication }
        if ($state -ne 'InitialReplicationInProgress')
        {
            $measured = Invoke-HvrOnHost -StateDir $StateDir { Measure-HvrVMReplication -VMName $VMName -ErrorAction SilentlyContinue }
            throw "initial replication of '$VMName' ended in state $state, not Replicating: $(@($measured.ReplicationHealthDetails) -join '; ')"
        }
        if ([datetime]::UtcNow -gt $deadline)
        {
            throw "initial replication of '$VMName' is still InitialReplicationInProgress after $TimeoutSec s; see <state dir>/logs/initial-<VMId>.log"
        }
        Start-Sleep -Milliseconds 500
    }
}
