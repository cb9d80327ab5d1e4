function New-HvrTestObject
{
    # A typed output object, made by the module's own converter from a fixture.
    param ([Parameter(Mandatory)] [string] $Fixture, [Parameter(Mandatory)] [string] $TypeName, [hashtable] $Property = @{})
    $raw = Get-HvrFixture -Name $Fixture
    foreach ($key in $Property.Keys) { $raw.$key = $Property[$key] }
    & (Get-HvrCoreModule) { param ($o, $t) ConvertTo-HvrOutputObject -InputObject $o -TypeName $t } $raw $TypeName
}
