function Get-HvrDiskSha256
{
    # The SHA-256 of a disk's virtual content: the VHDX (with its differencing chain) exported to a raw
    # image by 'hvreplica disk convert', hashed with Get-FileHash, the image deleted again.
    param
    (
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $WorkDir
    )
    $raw = Join-Path -Path $WorkDir -ChildPath ('{0}.raw' -f [guid]::NewGuid().ToString('N'))
    try
    {
        $null = Invoke-HvrTestCli -StateDir $WorkDir -Argument 'disk', 'convert', $Path, $raw, '--target-format=raw'
        (Get-FileHash -LiteralPath $raw -Algorithm SHA256).Hash
    }
    finally
    {
        Remove-Item -LiteralPath $raw -Force -ErrorAction SilentlyContinue
    }
}
