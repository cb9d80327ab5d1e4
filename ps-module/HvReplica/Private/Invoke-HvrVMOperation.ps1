function Invoke-HvrVMOperation
{
    <#
    .SYNOPSIS
        Runs one CLI command against one VM on behalf of a public cmdlet.
    .DESCRIPTION
        The shared body of the VM-targeted cmdlets: asks the calling cmdlet's ShouldProcess (so -WhatIf
        and -Confirm, with that cmdlet's ConfirmImpact, apply), calls the CLI with --vm-name, converts
        each result object to its type and writes it when the cmdlet outputs (Get-, Measure-, or
        -Passthru). A failure becomes a non-terminating error of the calling cmdlet, so one failing VM
        does not stop the others (unless the caller asked for -ErrorAction Stop).
    .PARAMETER Cmdlet
        The public cmdlet's $PSCmdlet.
    .PARAMETER Target
        One object from Get-HvrVMTarget.
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
        Invoke-HvrVMOperation -Cmdlet $PSCmdlet -Target $t -Command replication, suspend -Option @() -TypeName HvReplica.VMReplication -Action 'Suspend replication'
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]
        $Cmdlet,

        [Parameter(Mandatory)]
        [psobject]
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

    $description = $Target.VMName
    if (-not (Test-HvrLocalComputer -ComputerName $Target.ComputerName))
    {
        $description = '{0} on {1}' -f $Target.VMName, $Target.ComputerName
    }
    if ($Action)
    {
        # Two statements on purpose: when the host cannot ask (a non-interactive session), ShouldProcess
        # fails with a statement-terminating error and PowerShell goes on with the next statement; the
        # answer must then still be "no".
        $approved = $false
        $approved = $Cmdlet.ShouldProcess($description, $Action)
        if (-not $approved) { return }
    }

    if ($JobCommand)
    {
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
        $jobParameters['VMName'] = $Target.VMName
        if (-not (Test-HvrLocalComputer -ComputerName $Target.ComputerName))
        {
            $jobParameters['ComputerName'] = $Target.ComputerName
        }
        Start-HvrCommandJob -CommandName $JobCommand -Parameters $jobParameters
        return
    }

    $arguments = @($Command) + ('--vm-name={0}' -f $Target.VMName) + @($Option)
    $namesRelationship = @($Option | Where-Object { $_ -like '--replication-relationship-type=*' }).Count -gt 0
    if ($PassRelationship -and $null -ne $Target.RelationshipType -and -not $namesRelationship)
    {
        $arguments += ('--replication-relationship-type={0}' -f $Target.RelationshipType)
    }

    $answer = Invoke-HvrCli -Argument $arguments -ComputerName $Target.ComputerName -Credential $Credential `
        -TargetObject $Target.VMName
    if ($null -ne $answer.Error)
    {
        Write-HvrError -Cmdlet $Cmdlet -ErrorRecord $answer.Error
        return
    }
    try
    {
        foreach ($item in @($answer.Result))
        {
            if ($null -eq $item) { continue }
            $converted = ConvertTo-HvrOutputObject -InputObject $item -TypeName $TypeName
            if ($Output) { $converted }
        }
    }
    catch
    {
        # Only a result that breaks docs/cli-contract.md gets here (HvrCliInvalidResult).
        Write-HvrError -Cmdlet $Cmdlet -ErrorRecord $_
    }
}
