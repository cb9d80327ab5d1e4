function ConvertFrom-HvrCliError
{
    <#
    .SYNOPSIS
        Turns the CLI's failure envelope into an ErrorRecord.
    .DESCRIPTION
        The category comes from the CLI's exit code (src/cli/exit-codes.ts), refined by a few error codes
        that name a more precise category; the ErrorId is the CLI's code, so FullyQualifiedErrorId starts
        with it. The mapping is part of docs/cli-contract.md section 1.5.
    .PARAMETER Envelope
        The parsed JSON object the CLI printed (ok = false).
    .PARAMETER ExitCode
        The process exit code, used when the envelope carries none.
    .PARAMETER TargetObject
        What the failed call was about (VM name, server, entry).
    .EXAMPLE
        ConvertFrom-HvrCliError -Envelope $envelope -ExitCode 3 -TargetObject 'web1'
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param
    (
        [Parameter(Mandatory)]
        [psobject]
        $Envelope,

        [Parameter()]
        [int]
        $ExitCode = 1,

        [Parameter()]
        [object]
        $TargetObject
    )

    $byExitCode = @{
        1  = 'NotSpecified'
        2  = 'InvalidArgument'
        3  = 'ObjectNotFound'
        4  = 'InvalidOperation'
        5  = 'AuthenticationError'
        6  = 'InvalidOperation'
        7  = 'NotImplemented'
        70 = 'NotSpecified'
    }
    $byCode = @{
        ERR_ALREADY_EXISTS = 'ResourceExists'
        ERR_CONNECTION     = 'ConnectionError'
        ERR_TIMEOUT        = 'OperationTimeout'
        ERR_BUSY           = 'ResourceBusy'
        ERR_PERMISSION     = 'PermissionDenied'
    }

    $code = 'ERR_UNKNOWN'
    $message = 'hvreplica failed without saying why.'
    if ($null -ne $Envelope.error)
    {
        if ($Envelope.error.code) { $code = [string]$Envelope.error.code }
        if ($Envelope.error.message) { $message = [string]$Envelope.error.message }
    }
    $effectiveExitCode = $ExitCode
    if ($null -ne $Envelope.exitCode) { $effectiveExitCode = [int]$Envelope.exitCode }

    $category = 'NotSpecified'
    if ($byCode.ContainsKey($code)) { $category = $byCode[$code] }
    elseif ($byExitCode.ContainsKey($effectiveExitCode)) { $category = $byExitCode[$effectiveExitCode] }

    $text = '{0} ({1})' -f $message, $code
    New-HvrErrorRecord -Message $text -ErrorId $code -Category $category -TargetObject $TargetObject
}
