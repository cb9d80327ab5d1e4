function Confirm-HvrOperation
{
    <#
    .SYNOPSIS
        Asks the calling cmdlet's ShouldProcess about one target and returns the answer.
    .DESCRIPTION
        Names the target as "<target> on <host>" when the host is not this one, then calls ShouldProcess
        on the public cmdlet's $PSCmdlet, so -WhatIf, -Confirm and that cmdlet's ConfirmImpact apply.
    .PARAMETER Cmdlet
        The public cmdlet's $PSCmdlet.
    .PARAMETER Target
        What is acted on (a VM name, an entry, the server, a service).
    .PARAMETER ComputerName
        The host; empty means this host.
    .PARAMETER Action
        The ShouldProcess action text.
    .EXAMPLE
        if (-not (Confirm-HvrOperation -Cmdlet $PSCmdlet -Target web1 -ComputerName hv1 -Action 'Suspend replication')) { return }
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param
    (
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]
        $Cmdlet,

        [Parameter(Mandatory)]
        [string]
        $Target,

        [Parameter()]
        [AllowEmptyString()]
        [AllowNull()]
        [string]
        $ComputerName,

        [Parameter(Mandatory)]
        [string]
        $Action
    )

    $description = $Target
    if (-not (Test-HvrLocalComputer -ComputerName $ComputerName))
    {
        $description = '{0} on {1}' -f $Target, $ComputerName
    }
    # Two statements on purpose: when the host cannot ask (a non-interactive session), ShouldProcess
    # fails with a statement-terminating error and PowerShell goes on with the next statement; the
    # answer must then still be "no".
    $approved = $false
    $approved = $Cmdlet.ShouldProcess($description, $Action)
    [bool]$approved
}
