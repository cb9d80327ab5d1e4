function Invoke-HvrVMOperation
{
    <#
    .SYNOPSIS
        Runs one CLI command against each VM a public cmdlet names, on behalf of that cmdlet.
    .DESCRIPTION
        The shared body of the VM-targeted cmdlets: resolves -VMName/-ComputerName, -VM and -VMReplication
        to targets (Get-HvrVMTarget), then runs the command with --vm-name for each one through
        Invoke-HvrHostOperation on the target's host: the calling cmdlet's ShouldProcess is asked (so
        -WhatIf and -Confirm, with that cmdlet's ConfirmImpact, apply), each result object is converted to
        its type and written when the cmdlet outputs (Get-, Measure-, or -Passthru). A failure becomes a
        non-terminating error of the calling cmdlet, so one failing VM does not stop the others (unless
        the caller asked for -ErrorAction Stop).
    .PARAMETER Cmdlet
        The public cmdlet's $PSCmdlet.
    .PARAMETER VMName
        The cmdlet's -VMName.
    .PARAMETER ComputerName
        The cmdlet's -ComputerName (hosts for -VMName).
    .PARAMETER VM
        The cmdlet's -VM.
    .PARAMETER VMReplication
        The cmdlet's -VMReplication.
    .PARAMETER Target
        Objects shaped like Get-HvrVMTarget's (VMName, ComputerName, RelationshipType), for a cmdlet that
        finds its targets itself; given, the four parameters above are not used.
    .PARAMETER Command
        The noun and verb, e.g. 'replication', 'suspend'.
    .PARAMETER Option
        CLI options from ConvertTo-HvrCliArgument.
    .PARAMETER TypeName
        PSTypeName of the result objects.
    .PARAMETER Action
        The ShouldProcess action text; none skips ShouldProcess (read-only cmdlets).
    .PARAMETER Output
        Write the converted result objects.
    .PARAMETER PassRelationship
        Send the relationship type of a VMReplication object (acting on that object acts on that
        relationship) unless the options already name one.
    .PARAMETER Credential
        Remoting credential for a target on another host.
    .PARAMETER JobCommand
        With -AsJob: the module function to run in a background job (after ShouldProcess here) instead of
        calling the CLI now; the job gets -BoundParameters with this target's VM name and host.
    .PARAMETER BoundParameters
        The public cmdlet's $PSBoundParameters, for -JobCommand.
    .EXAMPLE
        Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName web1 -Command replication, suspend -Option @() -TypeName HvReplica.VMReplication -Action 'Suspend replication'
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]
        $Cmdlet,

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
        $VMReplication,

        [Parameter()]
        [psobject[]]
        $Target,

        [Parameter(Mandatory)]
        [string[]]
        $Command,

        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Option = @(),

        [Parameter(Mandatory)]
        [string]
        $TypeName,

        [Parameter()]
        [string]
        $Action,

        [Parameter()]
        [switch]
        $Output,

        [Parameter()]
        [switch]
        $PassRelationship,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter()]
        [string]
        $JobCommand,

        [Parameter()]
        [System.Collections.IDictionary]
        $BoundParameters
    )

    $targets = $Target
    if (-not $PSBoundParameters.ContainsKey('Target'))
    {
        $targets = Get-HvrVMTarget -VMName $VMName -ComputerName $ComputerName -VM $VM -VMReplication $VMReplication
    }
    foreach ($one in @($targets))
    {
        if ($JobCommand)
        {
            if ($Action -and -not (Confirm-HvrOperation -Cmdlet $Cmdlet -Target $one.VMName -ComputerName $one.ComputerName -Action $Action))
            {
                continue
            }
            # Objects become property bags in another process: the job gets plain names instead.
            $jobParameters = @{}
            foreach ($key in $BoundParameters.Keys)
            {
                if ($key -in 'VMName', 'VM', 'VMReplication', 'ComputerName', 'AsJob', 'WhatIf', 'Confirm') { continue }
                $value = $BoundParameters[$key]
                # A SwitchParameter does not come back from serialization as a switch; a bool binds to one.
                if ($value -is [System.Management.Automation.SwitchParameter]) { $value = $value.IsPresent }
                $jobParameters[$key] = $value
            }
            $jobParameters['VMName'] = $one.VMName
            if (-not (Test-HvrLocalComputer -ComputerName $one.ComputerName))
            {
                $jobParameters['ComputerName'] = $one.ComputerName
            }
            Start-HvrCommandJob -CommandName $JobCommand -Parameters $jobParameters
            continue
        }

        $arguments = @('--vm-name={0}' -f $one.VMName) + @($Option)
        $namesRelationship = @($Option | Where-Object { $_ -like '--replication-relationship-type=*' }).Count -gt 0
        if ($PassRelationship -and $null -ne $one.RelationshipType -and -not $namesRelationship)
        {
            $arguments += ('--replication-relationship-type={0}' -f $one.RelationshipType)
        }
        # The rest (ShouldProcess on "<VM> [on <host>]", the CLI call, the results) is a host operation.
        Invoke-HvrHostOperation -Cmdlet $Cmdlet -Command $Command -Option $arguments -ComputerName $one.ComputerName `
            -Credential $Credential -TypeName $TypeName -Target $one.VMName -Action $Action -Output:$Output
    }
}
