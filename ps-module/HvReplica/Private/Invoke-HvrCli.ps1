function Invoke-HvrCli
{
    <#
    .SYNOPSIS
        Runs one hvreplica CLI command with --json and returns its result or its error.
    .DESCRIPTION
        The only place that runs the CLI (docs/cli-contract.md); tests mock it. Reads the versioned
        envelope from stdout and returns an object with Result (the envelope's 'result') and Error (an
        ErrorRecord, or null). Errors are returned, not thrown, because a throw caught on the way up
        would also land in the caller's -ErrorVariable: the cmdlet reports exactly one error. Error is
        the CLI's own error (category from its exit code, FullyQualifiedErrorId from its code), a CLI
        that cannot be found, output that is not one JSON object, or an unknown schemaVersion.
        Native exit codes do not throw in PowerShell, and stderr lines become error records under
        $ErrorActionPreference = 'Stop', so both are handled here: stderr is the CLI's log, one JSON object
        per line with --json (docs/cli-contract.md 1.1). Its warnings go to the warning stream
        (Write-Warning, for every cmdlet: -WarningAction and $WarningPreference apply), and so do its error
        lines when the command succeeded (a failure is the returned ErrorRecord); every other line is
        verbose output. With a remote -ComputerName the same command runs there through PowerShell
        remoting, with the hvreplica installed on that host, and its log is shown the same way.
    .PARAMETER Argument
        The noun, the verb and the options, e.g. 'replication', 'get', '--vm-name=web1'.
    .PARAMETER ComputerName
        The host to run on; empty or a local name runs here.
    .PARAMETER Credential
        Credential for PowerShell remoting to -ComputerName.
    .PARAMETER TargetObject
        What the call is about, for the error record.
    .EXAMPLE
        $answer = Invoke-HvrCli -Argument 'replication', 'get', '--vm-name=web1' -TargetObject 'web1'
        if ($answer.Error) { Write-HvrError -Cmdlet $PSCmdlet -ErrorRecord $answer.Error } else { $answer.Result }
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter(Mandatory)]
        [string[]]
        $Argument,

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
        [object]
        $TargetObject
    )

    $ErrorActionPreference = 'Continue'
    $PSNativeCommandUseErrorActionPreference = $false
    $commandText = 'hvreplica ' + ($Argument -join ' ')
    $cliArguments = @($Argument) + '--json'
    $failed = {
        param ([System.Management.Automation.ErrorRecord] $Record)
        [pscustomobject]@{ Result = $null; Error = $Record }
    }
    # The CLI's log lines (stderr): warnings reach the administrator without -Verbose, as Hyper-V's own
    # cmdlets warn (e.g. Complete-HvrVMFailover: turn the VM off, then run Complete again).
    $showLog = {
        param ([string[]] $Line, [int] $ExitCode)
        foreach ($text in @($Line))
        {
            if ([string]::IsNullOrWhiteSpace($text)) { continue }
            $entry = $null
            if ($text.TrimStart().StartsWith('{'))
            {
                try { $entry = $text | ConvertFrom-Json -ErrorAction Stop } catch { $entry = $null }
            }
            $level = if ($null -ne $entry -and $null -ne $entry.PSObject.Properties['level']) { [string]$entry.level } else { '' }
            if ($level -eq 'warn' -or ($level -eq 'error' -and $ExitCode -eq 0))
            {
                # The line's own fields (the reason, the VM, ...) follow the message: a warning without its
                # cause tells the administrator little.
                $details = @($entry.PSObject.Properties | Where-Object { $_.Name -notin @('level', 'message', 'timestamp', 'service', 'component') } | ForEach-Object { '{0}: {1}' -f $_.Name, $_.Value })
                $warning = if ($details.Count -gt 0) { '{0} ({1})' -f $entry.message, ($details -join '; ') } else { [string]$entry.message }
                Write-Warning -Message $warning
            }
            else
            {
                Write-Verbose -Message ('hvreplica: {0}' -f $text)
            }
        }
    }

    if (Test-HvrLocalComputer -ComputerName $ComputerName)
    {
        $cli = Resolve-HvrCli
        if ($null -ne $cli.Error) { return (& $failed $cli.Error) }
        $allArguments = @($cli.PrefixArguments) + $cliArguments
        Write-Verbose -Message ('Running {0} {1}' -f $cli.FilePath, ($allArguments -join ' '))
        $savedEncoding = [Console]::OutputEncoding
        try
        {
            # The CLI writes UTF-8; Windows PowerShell would otherwise decode with the OEM code page. Hosts
            # without a console (the ISE) refuse the change; their decoding is then left as it is.
            try { [Console]::OutputEncoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false } catch { $null = $_ }
            $lines = & $cli.FilePath @allArguments 2>&1
            $exitCode = $LASTEXITCODE
        }
        finally
        {
            try { [Console]::OutputEncoding = $savedEncoding } catch { $null = $_ }
        }
        $stdout = New-Object -TypeName System.Collections.Generic.List[string]
        $log = New-Object -TypeName System.Collections.Generic.List[string]
        foreach ($line in @($lines))
        {
            if ($line -is [System.Management.Automation.ErrorRecord])
            {
                $log.Add($line.Exception.Message)
            }
            elseif ($null -ne $line)
            {
                $stdout.Add([string]$line)
            }
        }
        & $showLog $log.ToArray() $exitCode
        $output = $stdout -join "`n"
    }
    else
    {
        $remote = {
            param ([string[]] $RemoteArguments)
            $ErrorActionPreference = 'Continue'
            $lines = & hvreplica @RemoteArguments 2>&1
            $exit = $LASTEXITCODE
            $text = @($lines | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
            $logged = @($lines | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { $_.Exception.Message })
            [pscustomobject]@{ Output = (@($text) -join "`n"); Log = $logged; ExitCode = $exit }
        }
        $invokeParameters = @{
            ComputerName  = $ComputerName
            ScriptBlock   = $remote
            ArgumentList  = (, $cliArguments)
            ErrorAction   = 'SilentlyContinue'
            ErrorVariable = 'remotingErrors'
        }
        if ($Credential -ne [System.Management.Automation.PSCredential]::Empty)
        {
            $invokeParameters['Credential'] = $Credential
        }
        Write-Verbose -Message ('Running {0} on {1} through PowerShell remoting' -f $commandText, $ComputerName)
        $answer = Invoke-Command @invokeParameters
        if ($null -eq $answer)
        {
            $reason = ($remotingErrors | ForEach-Object { $_.ToString() }) -join ' '
            return (& $failed (New-HvrErrorRecord -ErrorId 'HvrRemotingFailed' -Category ConnectionError -TargetObject $ComputerName `
                        -Message ("Could not run hvreplica on '{0}' through PowerShell remoting: {1}" -f $ComputerName, $reason)))
        }
        $output = [string]$answer.Output
        $exitCode = [int]$answer.ExitCode
        # The remote script block always answers with Log; one that carries none (a test's canned answer) logged nothing.
        if ($null -ne $answer.PSObject.Properties['Log']) { & $showLog @($answer.Log) $exitCode }
    }

    $envelope = $null
    if ($output.TrimStart().StartsWith('{'))
    {
        # Only output that looks like JSON is parsed, so that a CLI printing text never costs a caught throw.
        try { $envelope = $output | ConvertFrom-Json -ErrorAction Stop } catch { $envelope = $null }
    }
    if ($null -eq $envelope -or $null -eq $envelope.PSObject.Properties['schemaVersion'])
    {
        $shown = if ($output.Length -gt 200) { $output.Substring(0, 200) + '...' } else { $output }
        return (& $failed (New-HvrErrorRecord -ErrorId 'HvrCliInvalidOutput' -Category InvalidResult -TargetObject $TargetObject `
                    -Message ("'{0}' exited with code {1} and did not print one JSON object: '{2}'" -f $commandText, $exitCode, $shown)))
    }
    if ($envelope.schemaVersion -ne 1)
    {
        return (& $failed (New-HvrErrorRecord -ErrorId 'HvrCliSchemaVersion' -Category InvalidResult -TargetObject $TargetObject `
                    -Message ("'{0}' answered with schemaVersion {1}; this module understands version 1. Install matching versions of the module and the CLI." -f $commandText, $envelope.schemaVersion)))
    }
    if ($envelope.ok -ne $true)
    {
        return (& $failed (ConvertFrom-HvrCliError -Envelope $envelope -ExitCode $exitCode -TargetObject $TargetObject))
    }
    if ($exitCode -ne 0)
    {
        return (& $failed (New-HvrErrorRecord -ErrorId 'HvrCliInvalidOutput' -Category InvalidResult -TargetObject $TargetObject `
                    -Message ("'{0}' reported success but exited with code {1}." -f $commandText, $exitCode)))
    }
    [pscustomobject]@{ Result = $envelope.result; Error = $null }
}
