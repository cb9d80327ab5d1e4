function Reset-HvrPipelineParameter
{
    <#
    .SYNOPSIS
        Forgets what one pipeline object bound, so that the next object sees only its own values.
    .DESCRIPTION
        PowerShell keeps a value that one pipeline object bound by property name in $PSBoundParameters
        while the next object is processed, even when that object has no such property: the parameter
        variable goes back to its default, the dictionary entry stays. A process block that builds CLI
        options from $PSBoundParameters would send the earlier object's value (a certificate thumbprint,
        a relationship type, an allowed primary server) with the later one. Public cmdlets that read
        $PSBoundParameters note their command-line parameters in begin and call this in a finally at the
        end of process: every other entry is removed, and the next object binds afresh.
    .PARAMETER BoundParameters
        The public cmdlet's $PSBoundParameters (changed in place).
    .PARAMETER CommandLineParameter
        The names bound on the command line, noted in the cmdlet's begin block; they are kept.
    .EXAMPLE
        begin { $commandLineParameter = @($PSBoundParameters.Keys) }
        process { try { ... } finally { Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter } }
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param
    (
        [Parameter(Mandatory)]
        [System.Collections.IDictionary]
        $BoundParameters,

        [Parameter()]
        [AllowEmptyCollection()]
        [string[]]
        $CommandLineParameter = @()
    )

    foreach ($key in @($BoundParameters.Keys))
    {
        if ($CommandLineParameter -notcontains $key)
        {
            $null = $BoundParameters.Remove($key)
        }
    }
}
