function ConvertTo-HvrCliArgument
{
    <#
    .SYNOPSIS
        Turns bound cmdlet parameters into CLI options.
    .DESCRIPTION
        Encodes values as docs/cli-contract.md section 1.3 says: always --name=value in one argument (so a
        value starting with '-' or a boolean is never misread), switches bare and only when set, booleans
        as true/false, DateTime in UTC ISO 8601, TimeSpan as whole seconds, arrays and hashtables as a
        repeated option. Only the parameters named in -Name are taken, in that order, so that identity
        and PowerShell-only parameters (-VMName, -Passthru, -AsJob, common parameters) never leak through.
    .PARAMETER BoundParameters
        The cmdlet's $PSBoundParameters.
    .PARAMETER Name
        The parameters that map to CLI options.
    .EXAMPLE
        ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name ReplicaServerName, ReplicaServerPort
    #>
    [CmdletBinding()]
    [OutputType([string[]])]
    param
    (
        [Parameter(Mandatory)]
        [System.Collections.IDictionary]
        $BoundParameters,

        [Parameter(Mandatory)]
        [AllowEmptyCollection()]
        [string[]]
        $Name
    )

    $arguments = New-Object -TypeName System.Collections.Generic.List[string]
    foreach ($parameterName in $Name)
    {
        if (@($BoundParameters.Keys) -notcontains $parameterName) { continue }
        $value = $BoundParameters[$parameterName]
        $option = '--' + (ConvertTo-HvrKebabCase -Name $parameterName)

        if ($value -is [System.Management.Automation.SwitchParameter])
        {
            if ($value.IsPresent) { $arguments.Add($option) }
            continue
        }
        if ($value -is [System.Collections.IDictionary])
        {
            foreach ($key in $value.Keys)
            {
                $arguments.Add(('{0}={1}={2}' -f $option, $key, $value[$key]))
            }
            continue
        }

        foreach ($item in @($value))
        {
            if ($item -is [bool])
            {
                $text = if ($item) { 'true' } else { 'false' }
            }
            elseif ($item -is [datetime])
            {
                $text = $item.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [cultureinfo]::InvariantCulture)
            }
            elseif ($item -is [timespan])
            {
                $text = ([long][math]::Floor($item.TotalSeconds)).ToString([cultureinfo]::InvariantCulture)
            }
            elseif ($item -is [System.IFormattable])
            {
                $text = $item.ToString($null, [cultureinfo]::InvariantCulture)
            }
            else
            {
                $text = [string]$item
            }
            $arguments.Add(('{0}={1}' -f $option, $text))
        }
    }
    , $arguments.ToArray()
}
