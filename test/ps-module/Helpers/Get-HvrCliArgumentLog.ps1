function Get-HvrCliArgumentLog
{
    # The -Argument of every mocked Invoke-HvrCli call, in order, joined with spaces.
    param ([Parameter(Mandatory)] [System.Collections.IList] $Log)
    @($Log | ForEach-Object { $_ -join ' ' })
}
