function Test-HvrLocalComputer
{
    <#
    .SYNOPSIS
        Tells whether a -ComputerName value means this host.
    .DESCRIPTION
        Hyper-V's cmdlets treat an empty name, '.', localhost and the host's own name as local; so do we,
        so that objects returned by this host (whose ComputerName is this host's name) are acted on
        locally without remoting. A fully qualified name matches on its first label.
    .PARAMETER ComputerName
        The name to test.
    .EXAMPLE
        Test-HvrLocalComputer -ComputerName 'localhost'
    #>
    [CmdletBinding()]
    [OutputType([bool])]
    param
    (
        [Parameter()]
        [AllowEmptyString()]
        [AllowNull()]
        [string]
        $ComputerName
    )

    if ([string]::IsNullOrEmpty($ComputerName)) { return $true }
    $firstLabel = ($ComputerName -split '\.')[0]
    $localNames = @('.', 'localhost', '127.0.0.1', '::1', [Environment]::MachineName)
    foreach ($localName in $localNames)
    {
        if ([string]::Equals($ComputerName, $localName, [StringComparison]::OrdinalIgnoreCase)) { return $true }
    }
    [string]::Equals($firstLabel, [Environment]::MachineName, [StringComparison]::OrdinalIgnoreCase) -and
        $ComputerName -notmatch '^\d+\.\d+\.\d+\.\d+$'
}
