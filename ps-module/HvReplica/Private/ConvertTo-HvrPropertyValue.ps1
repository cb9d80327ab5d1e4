function ConvertTo-HvrPropertyValue
{
    <#
    .SYNOPSIS
        Converts one JSON property value by its kind in Data/OutputSchema.psd1.
    .DESCRIPTION
        Kinds and encodings are those of docs/cli-contract.md section 1.3. PowerShell 7's ConvertFrom-Json
        already turns ISO date strings into DateTime while Windows PowerShell 5.1 leaves strings, so both
        are accepted. Null stays null for every kind, as the contract uses null for "none".
    .PARAMETER Value
        The value as ConvertFrom-Json produced it.
    .PARAMETER Kind
        Value, Guid, DateTime, TimeSpan, StringArray, PortMapping, Enum:<type>, EnumArray:<type>,
        Object:<PSTypeName> or ObjectArray:<PSTypeName>.
    .PARAMETER PropertyName
        The property's name, for error messages.
    .EXAMPLE
        ConvertTo-HvrPropertyValue -Value 'Replicating' -Kind 'Enum:HvReplica.VMReplicationState' -PropertyName ReplicationState
    #>
    [CmdletBinding()]
    [OutputType([object])]
    param
    (
        [Parameter()]
        [AllowNull()]
        [object]
        $Value,

        [Parameter(Mandatory)]
        [string]
        $Kind,

        [Parameter(Mandatory)]
        [string]
        $PropertyName
    )

    if ($null -eq $Value) { return $null }
    $kindName, $argument = $Kind -split ':', 2
    $invalid = {
        param ($detail)
        New-HvrErrorRecord -ErrorId 'HvrCliInvalidResult' -Category InvalidResult -TargetObject $Value `
            -Message ("The CLI's value '{0}' for {1} is not valid: {2} (docs/cli-contract.md section 1.3)." -f $Value, $PropertyName, $detail)
    }

    switch ($kindName)
    {
        'Value'
        {
            return $Value
        }
        'Guid'
        {
            $guid = [guid]::Empty
            if (-not [guid]::TryParse([string]$Value, [ref]$guid)) { throw (& $invalid 'not a GUID') }
            return $guid
        }
        'DateTime'
        {
            if ($Value -is [datetime])
            {
                if ($Value.Kind -eq [DateTimeKind]::Utc) { return $Value.ToLocalTime() }
                return $Value
            }
            $parsed = [datetime]::MinValue
            $styles = [System.Globalization.DateTimeStyles]::RoundtripKind
            if (-not [datetime]::TryParse([string]$Value, [cultureinfo]::InvariantCulture, $styles, [ref]$parsed))
            {
                throw (& $invalid 'not an ISO 8601 date')
            }
            if ($parsed.Kind -eq [DateTimeKind]::Unspecified) { throw (& $invalid 'an ISO 8601 date needs Z or an offset') }
            return $parsed.ToLocalTime()
        }
        'TimeSpan'
        {
            $seconds = 0.0
            if (-not [double]::TryParse([string]$Value, [System.Globalization.NumberStyles]::Float, [cultureinfo]::InvariantCulture, [ref]$seconds))
            {
                throw (& $invalid 'not a number of seconds')
            }
            return [timespan]::FromSeconds($seconds)
        }
        'StringArray'
        {
            return , [string[]]@($Value)
        }
        'PortMapping'
        {
            $mapping = @{}
            foreach ($entry in $Value.PSObject.Properties) { $mapping[$entry.Name] = [int]$entry.Value }
            return $mapping
        }
        'Enum'
        {
            $enumType = [type]$argument
            if (-not [enum]::IsDefined($enumType, [string]$Value)) { throw (& $invalid "not a $argument name") }
            return [enum]::Parse($enumType, [string]$Value)
        }
        'EnumArray'
        {
            $items = foreach ($item in @($Value))
            {
                ConvertTo-HvrPropertyValue -Value $item -Kind "Enum:$argument" -PropertyName $PropertyName
            }
            return , @($items)
        }
        'Object'
        {
            return ConvertTo-HvrOutputObject -InputObject $Value -TypeName $argument
        }
        'ObjectArray'
        {
            $items = foreach ($item in @($Value)) { ConvertTo-HvrOutputObject -InputObject $item -TypeName $argument }
            return , @($items)
        }
        default
        {
            throw (New-HvrErrorRecord -ErrorId 'HvrUnknownOutputKind' -Category InvalidArgument -TargetObject $Kind `
                    -Message "Unknown kind '$Kind' in Data/OutputSchema.psd1.")
        }
    }
}
