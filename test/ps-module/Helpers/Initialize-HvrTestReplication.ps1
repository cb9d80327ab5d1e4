function Initialize-HvrTestReplication
{
    # A VM that replicates, built the way an administrator builds it, for suites that start from there
    # (failover): two paired hosts (New-HvrTestHostPair), the replica host configured with
    # Set-HvrVMReplicationServer and New-HvrVMReplicationAuthorizationEntry, its server running on a free
    # port, a file-host VM 'vm1' with two VHDX disks and guest data, Enable-HvrVMReplication,
    # Start-HvrVMInitialReplication (waiting until the VM is Replicating), then DeltaCycles of guest writes ('hvreplica workload') and
    # 'hvreplica replicate'. Returns the pair with Port, Storage and Server (the process; stop it with
    # Stop-HvrTestReplicaServer). Throws with the failing step, after stopping
    # the server and deleting the folder.
    param
    (
        [Parameter(Mandatory)] [string] $Prefix,
        [int] $DeltaCycles = 2
    )
    $setup = New-HvrTestHostPair -Prefix $Prefix
    try
    {
        $setup | Add-Member -NotePropertyName Port -NotePropertyValue (Get-HvrFreeTcpPort)
        $setup | Add-Member -NotePropertyName Storage -NotePropertyValue (Join-Path -Path $setup.Root -ChildPath 'replica-storage')
        $setup | Add-Member -NotePropertyName Server -NotePropertyValue $null
        Invoke-HvrOnHost -StateDir $setup.ReplicaState {
            $null = Set-HvrVMReplicationServer -ReplicationEnabled $true -AllowedAuthenticationType Certificate `
                -CertificateThumbprint $setup.ReplicaThumbprint -CertificateAuthenticationPort $setup.Port -ErrorAction Stop
            $null = New-HvrVMReplicationAuthorizationEntry -AllowedPrimaryServer $setup.PrimaryName -ReplicaStorageLocation $setup.Storage `
                -TrustGroup 'integration' -ErrorAction Stop
        }
        $setup.Server = Start-HvrTestReplicaServer -StateDir $setup.ReplicaState
        $null = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'vm', 'new', '--name=vm1', '--disk=16MiB', '--disk=8MiB', '--block-size=1MiB'
        $null = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'vm', 'start', 'vm1'
        $null = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'workload', '--vm=vm1', '--seed=1', '--bytes=4MiB'
        Invoke-HvrOnHost -StateDir $setup.PrimaryState {
            Enable-HvrVMReplication -VMName 'vm1' -ReplicaServerName 'localhost' -ReplicaServerPort $setup.Port -AuthenticationType Certificate `
                -CertificateThumbprint $setup.PrimaryThumbprint -ReplicationFrequencySec 30 -RecoveryHistory 4 -ErrorAction Stop
            Start-HvrVMInitialReplication -VMName 'vm1' -ErrorAction Stop
        }
        $null = Wait-HvrTestInitialReplication -StateDir $setup.PrimaryState -VMName 'vm1'
        for ($cycle = 1; $cycle -le $DeltaCycles; $cycle++)
        {
            $null = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'workload', '--vm=vm1', "--seed=$(10 + $cycle)", '--bytes=1MiB'
            $null = Invoke-HvrTestCli -StateDir $setup.PrimaryState -Argument 'replicate', '--vm=vm1'
        }
    }
    catch
    {
        # The caller gets no object to clean up after: stop the server and delete the folder here.
        if ($null -ne $setup.PSObject.Properties['Server']) { Stop-HvrTestReplicaServer -Process $setup.Server }
        Remove-Item -LiteralPath $setup.Root -Recurse -Force -ErrorAction SilentlyContinue
        throw
    }
    $setup
}
