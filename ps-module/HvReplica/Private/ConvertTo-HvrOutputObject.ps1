function ConvertTo-HvrOutputObject
{
    <#
    .SYNOPSIS
        Turns one CLI result object into a typed HvReplica output object.
    .DESCRIPTION
        Applies Data/OutputSchema.psd1: inserts the PSTypeName (which selects the format view, the alias
        properties of Types/HvReplica.Types.ps1xml and pipeline binding by type), turns ISO dates into
        local DateTime as Hyper-V shows them, seconds into TimeSpan, names into Hyper-V's enums, and
        converts nested objects. A property the contract requires but the CLI left out, or an enum name
        the contract does not list, is reported (HvrCliInvalidResult) instead of guessed: it means the
        CLI and the module disagree about docs/cli-contract.md. Properties the CLI added beyond the
        contract are kept.
    .PARAMETER InputObject
        One object from the CLI's 'result'.
    .PARAMETER TypeName
        The PSTypeName to give it, a key of Data/OutputSchema.psd1.
    .EXAMPLE
        $result | ForEach-Object { ConvertTo-HvrOutputObject -InputObject $_ -TypeName 'HvReplica.VMReplication' }
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter(Mandatory)]
        [AllowNull()]
        [psobject]
        $InputObject,

        [Parameter(Mandatory)]
        [string]
        $TypeName
    )

    if ($null -eq $InputObject) { return $null }
    $schema = $script:HvrOutputSchema[$TypeName]
    if ($null -eq $schema)
    {
        throw (New-HvrErrorRecord -ErrorId 'HvrUnknownOutputType' -Category InvalidArgument -TargetObject $TypeName `
                -Message "No output schema for type '$TypeName'.")
    }

    $present = @{}
    foreach ($property in $InputObject.PSObject.Properties) { $present[$property.Name] = $true }
    foreach ($required in $schema.Keys)
    {
        if (-not $present.ContainsKey($required))
        {
            throw (New-HvrErrorRecord -ErrorId 'HvrCliInvalidResult' -Category InvalidResult -TargetObject $InputObject `
                    -Message "The CLI's $TypeName object has no property '$required' (docs/cli-contract.md section 2).")
        }
    }

    $output = New-Object -TypeName System.Management.Automation.PSObject
    $output.PSObject.TypeNames.Insert(0, $TypeName)
    foreach ($property in $InputObject.PSObject.Properties)
    {
        $kind = 'Value'
        if ($schema.ContainsKey($property.Name)) { $kind = $schema[$property.Name] }
        $value = ConvertTo-HvrPropertyValue -Value $property.Value -Kind $kind -PropertyName $property.Name
        $output.PSObject.Properties.Add((New-Object -TypeName System.Management.Automation.PSNoteProperty -ArgumentList $property.Name, $value))
    }
    $output
}
