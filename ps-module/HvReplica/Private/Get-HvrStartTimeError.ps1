function Get-HvrStartTimeError
{
    <#
    .SYNOPSIS
        Checks a scheduled start time against Hyper-V's rule; returns the error, or nothing when valid.
    .DESCRIPTION
        Hyper-V's rule for -InitialReplicationStartTime and -ResynchronizeStartTime: the time must be in
        the future and at most 7 days from now. A bad time yields an InvalidArgument ErrorRecord with id
        HvrStartTimeOutOfRange for the cmdlet to report. The error is returned, not thrown: a caught
        throw would also land in the caller's -ErrorVariable.
    .PARAMETER StartTime
        The requested time (any DateTimeKind; Unspecified counts as local, as in Hyper-V).
    .PARAMETER ParameterName
        The parameter it came from, for the message.
    .PARAMETER Now
        The current time; tests pass a fixed one.
    .EXAMPLE
        $problem = Get-HvrStartTimeError -StartTime (Get-Date).AddHours(2) -ParameterName InitialReplicationStartTime
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param
    (
        [Parameter(Mandatory)]
        [datetime]
        $StartTime,

        [Parameter(Mandatory)]
        [string]
        $ParameterName,

        [Parameter()]
        [datetime]
        $Now = [datetime]::Now
    )

    $start = $StartTime.ToUniversalTime()
    $current = $Now.ToUniversalTime()
    if ($start -le $current -or $start -gt $current.AddDays(7))
    {
        New-HvrErrorRecord -ErrorId 'HvrStartTimeOutOfRange' -Category InvalidArgument -TargetObject $StartTime `
            -Message ("-{0} must be in the future and at most 7 days from now; {1:u} is not." -f $ParameterName, $start)
    }
}
