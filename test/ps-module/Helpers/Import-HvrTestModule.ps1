function Import-HvrTestModule
{
    # -Force re-reads the files, so each suite tests the module as it is on disk.
    Import-Module -Name $script:HvrManifestPath -Force -ErrorAction Stop
}
