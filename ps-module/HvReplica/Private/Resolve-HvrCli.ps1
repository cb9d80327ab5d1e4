function Resolve-HvrCli
{
    <#
    .SYNOPSIS
        Finds the hvreplica CLI this module runs.
    .DESCRIPTION
        HVR_CLI names the CLI explicitly (a development tree, a test, a side-by-side install); a path ending
        in .js, .mjs or .cjs is a Node script and runs with node (HVR_NODE, else node on PATH). Without it
        the installed 'hvreplica' on PATH is used. Returns the program and the arguments that precede the
        command's own, or an Error (HvrCliNotFound) when there is none; it does not throw, so that the
        caller's -ErrorVariable holds only the error the cmdlet reports.
    .EXAMPLE
        $cli = Resolve-HvrCli; if (-not $cli.Error) { & $cli.FilePath @($cli.PrefixArguments + 'host', 'info', '--json') }
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param ()

    $configured = [Environment]::GetEnvironmentVariable('HVR_CLI')
    if ([string]::IsNullOrEmpty($configured))
    {
        $command = Get-Command -Name 'hvreplica' -CommandType Application -ErrorAction SilentlyContinue |
            Select-Object -First 1
        if ($null -eq $command)
        {
            return [pscustomobject]@{ FilePath = $null; PrefixArguments = @(); Error = (New-HvrErrorRecord -ErrorId 'HvrCliNotFound' -Category NotInstalled -TargetObject 'hvreplica' `
                    -Message "The hvreplica CLI was not found on PATH. Install it (npm install -g hvreplica) or set HVR_CLI to its path.") }
        }
        return [pscustomobject]@{ FilePath = $command.Source; PrefixArguments = @(); Error = $null }
    }

    if (-not (Test-Path -LiteralPath $configured))
    {
        return [pscustomobject]@{ FilePath = $null; PrefixArguments = @(); Error = (New-HvrErrorRecord -ErrorId 'HvrCliNotFound' -Category NotInstalled -TargetObject $configured `
                -Message "HVR_CLI names '$configured', which does not exist.") }
    }
    if ($configured -match '\.(c|m)?js$')
    {
        $node = [Environment]::GetEnvironmentVariable('HVR_NODE')
        if ([string]::IsNullOrEmpty($node))
        {
            $nodeCommand = Get-Command -Name 'node' -CommandType Application -ErrorAction SilentlyContinue |
                Select-Object -First 1
            if ($null -eq $nodeCommand)
            {
                return [pscustomobject]@{ FilePath = $null; PrefixArguments = @(); Error = (New-HvrErrorRecord -ErrorId 'HvrCliNotFound' -Category NotInstalled -TargetObject 'node' `
                        -Message "HVR_CLI is a Node script but node is not on PATH; install Node.js or set HVR_NODE.") }
            }
            $node = $nodeCommand.Source
        }
        return [pscustomobject]@{ FilePath = $node; PrefixArguments = @($configured); Error = $null }
    }
    [pscustomobject]@{ FilePath = $configured; PrefixArguments = @(); Error = $null }
}
