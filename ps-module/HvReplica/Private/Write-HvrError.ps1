function Write-HvrError
{
    <#
    .SYNOPSIS
        Writes an HvReplica error as a non-terminating error of the public cmdlet.
    .DESCRIPTION
        Rebuilds the record before writing it, so that every error reaches the user the same way however
        it was made: FullyQualifiedErrorId '<id>,<public cmdlet name>', the category, the target and the
        message, with no trace of the private functions it passed through.
    .PARAMETER Cmdlet
        The public cmdlet's $PSCmdlet.
    .PARAMETER ErrorRecord
        The error to report.
    .EXAMPLE
        Write-HvrError -Cmdlet $PSCmdlet -ErrorRecord $answer.Error
    #>
    [CmdletBinding()]
    param
    (
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]
        $Cmdlet,

        [Parameter(Mandatory)]
        [System.Management.Automation.ErrorRecord]
        $ErrorRecord
    )

    $errorId = ($ErrorRecord.FullyQualifiedErrorId -split ',')[0]
    $message = $ErrorRecord.Exception.Message
    if ($null -ne $ErrorRecord.ErrorDetails -and $ErrorRecord.ErrorDetails.Message) { $message = $ErrorRecord.ErrorDetails.Message }
    $record = New-HvrErrorRecord -Message $message -ErrorId $errorId -Category $ErrorRecord.CategoryInfo.Category `
        -TargetObject $ErrorRecord.TargetObject -Exception $ErrorRecord.Exception
    $Cmdlet.WriteError($record)
}
