function New-HvrErrorRecord
{
    <#
    .SYNOPSIS
        Builds the ErrorRecord every HvReplica failure is reported with.
    .DESCRIPTION
        One place creates error records so that all of them carry a stable ErrorId (the CLI's error code
        or one of the module's own Hvr* ids), a category and a target; scripts filter on
        FullyQualifiedErrorId, which PowerShell forms from the ErrorId and the cmdlet name.
    .PARAMETER Message
        What went wrong and, where possible, what to do.
    .PARAMETER ErrorId
        The stable id, e.g. ERR_NOT_FOUND or HvrThumbprintRequired.
    .PARAMETER Category
        The PowerShell error category.
    .PARAMETER TargetObject
        The VM name, server or entry the error is about.
    .PARAMETER Exception
        The underlying exception, when there is one.
    .EXAMPLE
        $record = New-HvrErrorRecord -Message 'bad' -ErrorId 'HvrX' -Category InvalidArgument -TargetObject 'vm1'
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param
    (
        [Parameter(Mandatory)]
        [string]
        $Message,

        [Parameter(Mandatory)]
        [string]
        $ErrorId,

        [Parameter(Mandatory)]
        [System.Management.Automation.ErrorCategory]
        $Category,

        [Parameter()]
        [object]
        $TargetObject,

        [Parameter()]
        [System.Exception]
        $Exception
    )

    if ($null -eq $Exception)
    {
        $Exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    }
    $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList @(
        $Exception, $ErrorId, $Category, $TargetObject
    )
    # The exception text may be a lower-level one; the record shows the message written for the user.
    $record.ErrorDetails = New-Object -TypeName System.Management.Automation.ErrorDetails -ArgumentList $Message
    $record
}
