function Invoke-HvrHostOperation
{
    <#
    .SYNOPSIS
        Runs one CLI command that acts on a host rather than a VM, on behalf of a public cmdlet.
    .DESCRIPTION
        The shared body of the server, authorization-entry, connection, service and task cmdlets: asks
        the calling cmdlet's ShouldProcess when an action is given, calls the CLI on the host, converts
        the result objects to their type and writes them when the cmdlet outputs. A failure becomes a
        non-terminating error of the calling cmdlet.
    .PARAMETER Cmdlet
        The public cmdlet's $PSCmdlet.
    .PARAMETER Command
        The noun and verb, e.g. 'server', 'set'.
    .PARAMETER Option
        CLI options from ConvertTo-HvrCliArgument.
    .PARAMETER ComputerName
        The host; empty means this host.
    .PARAMETER Credential
        Remoting credential for another host.
    .PARAMETER TypeName
        PSTypeName of the result objects; none writes the result as the CLI gave it.
    .PARAMETER Target
        What ShouldProcess and error records name (an entry, the server, a service).
    .PARAMETER Action
        The ShouldProcess action text; none skips ShouldProcess (read-only cmdlets).
    .PARAMETER Output
        Write the converted result objects.
    .EXAMPLE
        Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command server, get -TypeName HvReplica.VMReplicationServer -Target 'replication server' -Output
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]
        $Cmdlet,

        [Parameter(Mandatory)]
        [string[]]
        $Command,

        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $Option = @(),

        [Parameter()]
        [AllowEmptyString()]
        [AllowNull()]
        [string]
        $ComputerName,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter()]
        [string]
        $TypeName,

        [Parameter(Mandatory)]
        [string]
        $Target,

        [Parameter()]
        [string]
        $Action,

        [Parameter()]
        [switch]
        $Output
    )

    $description = $Target
    if (-not (Test-HvrLocalComputer -ComputerName $ComputerName))
    {
        $description = '{0} on {1}' -f $Target, $ComputerName
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

    $answer = Invoke-HvrCli -Argument (@($Command) + @($Option)) -ComputerName $ComputerName -Credential $Credential `
        -TargetObject $Target
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
            $converted = $item
            if ($TypeName) { $converted = ConvertTo-HvrOutputObject -InputObject $item -TypeName $TypeName }
            if ($Output) { $converted }
        }
    }
    catch
    {
        # Only a result that breaks docs/cli-contract.md gets here (HvrCliInvalidResult).
        Write-HvrError -Cmdlet $Cmdlet -ErrorRecord $_
    }
}
