function New-HvrCliAnswer
{
    # What Invoke-HvrCli returns: the CLI's result, or the ErrorRecord of its failure.
    param ([AllowNull()] [object] $Result, [System.Management.Automation.ErrorRecord] $ErrorRecord)
    [pscustomobject]@{ Result = $Result; Error = $ErrorRecord }
}
