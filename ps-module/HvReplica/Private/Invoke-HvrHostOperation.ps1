function Invoke-HvrHostOperation
{
    <#
    .SYNOPSIS
        Runs one CLI command that acts on a host rather than a VM, on each host a public cmdlet names.
    .DESCRIPTION
        The shared body of the server, authorization-entry, connection, service and task cmdlets: asks
        the calling cmdlet's ShouldProcess when an action is given, calls the CLI on each host, converts
        the result objects to their type and writes them when the cmdlet outputs. A failure becomes a
        non-terminating error of the calling cmdlet.
    .PARAMETER Cmdlet
        The public cmdlet's $PSCmdlet.
    .PARAMETER Command
        The noun and verb, e.g. 'server', 'set'.
    .PARAMETER Option
        CLI options from ConvertTo-HvrCliArgument.
    .PARAMETER ComputerName
        The hosts, one call each; none (or an empty name) means this host.
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
        [AllowEmptyCollection()]
        [AllowEmptyString()]
        [AllowNull()]
        [string[]]
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

    foreach ($computer in (Get-HvrHostName -ComputerName $ComputerName))
    {
        if ($Action -and -not (Confirm-HvrOperation -Cmdlet $Cmdlet -Target $Target -ComputerName $computer -Action $Action))
        {
            continue
        }

        $answer = Invoke-HvrCli -Argument (@($Command) + @($Option)) -ComputerName $computer -Credential $Credential `
            -TargetObject $Target
        if ($null -ne $answer.Error)
        {
            Write-HvrError -Cmdlet $Cmdlet -ErrorRecord $answer.Error
            continue
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
}
