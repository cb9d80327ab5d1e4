function Invoke-HvrReplicationQuery
{
    <#
    .SYNOPSIS
        The shared process body of Get-VMReplication and Measure-VMReplication.
    .DESCRIPTION
        Turns the cmdlet's filters into CLI options; without a VM name (parameter set VMName) lists every
        relationship of each host, otherwise asks about each named VM. Results are written as TypeName.
    .PARAMETER Cmdlet
        The public cmdlet's $PSCmdlet (its ParameterSetName picks host-wide listing).
    .PARAMETER BoundParameters
        The public cmdlet's $PSBoundParameters, for the filter options.
    .PARAMETER Verb
        The CLI verb of 'replication': get or measure.
    .PARAMETER TypeName
        PSTypeName of the result objects.
    .PARAMETER VMName
        The cmdlet's -VMName.
    .PARAMETER VM
        The cmdlet's -VM.
    .PARAMETER ComputerName
        The cmdlet's -ComputerName.
    .PARAMETER Credential
        Remoting credential for another host.
    .EXAMPLE
        Invoke-HvrReplicationQuery -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Verb get -TypeName HvReplica.VMReplication -VMName $VMName
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]
        $Cmdlet,

        [Parameter(Mandatory)]
        [System.Collections.IDictionary]
        $BoundParameters,

        [Parameter(Mandatory)]
        [ValidateSet('get', 'measure')]
        [string]
        $Verb,

        [Parameter(Mandatory)]
        [string]
        $TypeName,

        [Parameter()]
        [string[]]
        $VMName,

        [Parameter()]
        [psobject[]]
        $VM,

        [Parameter()]
        [string[]]
        $ComputerName,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty
    )

    $option = ConvertTo-HvrCliArgument -BoundParameters $BoundParameters -Name @(
        'ReplicaServerName', 'PrimaryServerName', 'ReplicationState', 'ReplicationHealth', 'ReplicationMode',
        'ReplicationRelationshipType', 'TrustGroup'
    )
    if ($Cmdlet.ParameterSetName -eq 'VMName' -and -not $VMName)
    {
        Invoke-HvrHostOperation -Cmdlet $Cmdlet -Command 'replication', $Verb -Option $option -ComputerName $ComputerName `
            -Credential $Credential -TypeName $TypeName -Target 'all virtual machines' -Output
        return
    }
    Invoke-HvrVMOperation -Cmdlet $Cmdlet -VMName $VMName -ComputerName $ComputerName -VM $VM -Command 'replication', $Verb `
        -Option $option -TypeName $TypeName -Output -Credential $Credential
}
