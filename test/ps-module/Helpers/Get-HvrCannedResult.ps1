function Get-HvrCannedResult
{
    # What Invoke-HvrCli returns for a command when the CLI keeps docs/cli-contract.md section 3, for
    # mocks of Invoke-HvrCli. The VM name, when one is passed, is put into the object as the CLI would.
    param ([Parameter(Mandatory)] [string[]] $Argument)
    $command = '{0} {1}' -f $Argument[0], $Argument[1]
    $fixture = switch -Regex ($command)
    {
        '^replication measure$' { 'vm-replication-health'; break }
        '^replication ' { 'vm-replication'; break }
        '^initial import$' { 'virtual-machine'; break }
        '^initial ' { 'vm-replication'; break }
        '^failover ' { 'virtual-machine'; break }
        '^recovery-point ' { 'vm-snapshot'; break }
        '^server ' { 'replication-server'; break }
        '^auth ' { 'authorization-entry'; break }
        '^task ' { 'replication-task'; break }
        '^service ' { 'replication-service'; break }
        '^connection test$' { $null; break }
        default { throw "No canned result for '$command'." }
    }
    if ($null -eq $fixture)
    {
        return New-HvrCliAnswer -Result ([pscustomobject]@{ ReplicaServerName = 'replica.contoso.com'; ReplicaServerPort = 443; AuthenticationType = 'Certificate' })
    }
    $result = Get-HvrFixture -Name $fixture
    $vmName = @($Argument | Where-Object { $_ -like '--vm-name=*' } | ForEach-Object { $_.Substring(10) })
    if ($vmName.Count -gt 0)
    {
        if ($null -ne $result.PSObject.Properties['VMName']) { $result.VMName = $vmName[0] }
        elseif ($null -ne $result.PSObject.Properties['Name']) { $result.Name = $vmName[0] }
    }
    if ($command -in 'auth list', 'auth remove', 'task register', 'task unregister' -or $command -match '^(replication|initial|failover|recovery-point) ')
    {
        return New-HvrCliAnswer -Result @($result)
    }
    New-HvrCliAnswer -Result $result
}
