function Get-HvrVMTarget
{
    <#
    .SYNOPSIS
        Lists the (VM name, host, relationship) triples a VM-targeted cmdlet acts on.
    .DESCRIPTION
        Hyper-V's cmdlets name their VMs three ways: -VMName with -ComputerName, -VM (VirtualMachine
        objects, Hyper-V's own from Get-VM or ours), or -VMReplication (objects from Get-HvrVMReplication).
        An object carries its host (ComputerName) and, for a relationship, its type (Simple/Extended),
        so acting on it acts on exactly that relationship.
    .PARAMETER VMName
        Names or wildcard patterns.
    .PARAMETER ComputerName
        Hosts for -VMName; none means this host.
    .PARAMETER VM
        VirtualMachine-like objects (a Name or VMName property).
    .PARAMETER VMReplication
        VMReplication-like objects (a VMName property).
    .EXAMPLE
        Get-HvrVMTarget -VMName 'web*' -ComputerName 'hv1'
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter()]
        [string[]]
        $VMName,

        [Parameter()]
        [string[]]
        $ComputerName,

        [Parameter()]
        [psobject[]]
        $VM,

        [Parameter()]
        [psobject[]]
        $VMReplication
    )

    foreach ($name in @($VMName))
    {
        if ([string]::IsNullOrEmpty($name)) { continue }
        foreach ($computer in (Get-HvrHostName -ComputerName $ComputerName))
        {
            [pscustomobject]@{ VMName = $name; ComputerName = $computer; RelationshipType = $null }
        }
    }
    foreach ($item in @($VM) + @($VMReplication))
    {
        if ($null -eq $item) { continue }
        $name = $item.VMName
        if ([string]::IsNullOrEmpty($name)) { $name = $item.Name }
        if ([string]::IsNullOrEmpty($name))
        {
            throw (New-HvrErrorRecord -ErrorId 'HvrObjectWithoutName' -Category InvalidArgument -TargetObject $item `
                    -Message 'The object given has neither a VMName nor a Name property.')
        }
        $relationship = $null
        if ($null -ne $item.PSObject.Properties['ReplicationRelationshipType'])
        {
            $relationship = $item.ReplicationRelationshipType
        }
        [pscustomobject]@{ VMName = [string]$name; ComputerName = [string]$item.ComputerName; RelationshipType = $relationship }
    }
}
