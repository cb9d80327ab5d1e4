function New-HvrTestHostPair
{
    # Two hosts on this machine, each a state directory in a new temporary folder, paired the way
    # docs/certificates.md describes for a workgroup: one CA, a certificate per host signed by it, each
    # host trusting the CA. The primary's certificate is made on the replica and copied over (cert new
    # --out-dir, then cert import and cert trust), the replica's is made and installed in one step
    # (cert new --import). Both certificates also name localhost, the name each host reaches the other
    # by (Enable-VMReplication refuses IP literals), because after a planned failover the old primary
    # becomes the replica server.
    param
    (
        [Parameter(Mandatory)] [string] $Prefix
    )
    $root = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('{0}-{1}' -f $Prefix, [guid]::NewGuid().ToString('N').Substring(0, 12))
    $null = New-Item -ItemType Directory -Path $root
    $pair = [pscustomobject]@{
        Root              = $root
        PrimaryState      = Join-Path -Path $root -ChildPath 'primary'
        ReplicaState      = Join-Path -Path $root -ChildPath 'replica'
        PrimaryName       = 'primary.hvr-it.test'
        ReplicaName       = 'replica.hvr-it.test'
        PrimaryThumbprint = $null
        ReplicaThumbprint = $null
    }
    try
    {
        $caDir = Join-Path -Path $root -ChildPath 'ca'
        $transfer = Join-Path -Path $root -ChildPath 'to-primary'
        $null = Invoke-HvrTestCli -StateDir $pair.ReplicaState -Argument 'cert', 'new-ca', '--common-name=hvreplica integration CA', "--out-dir=$caDir"
        $caCertificate = Join-Path -Path $caDir -ChildPath 'hvreplica-ca.crt'
        $caKey = Join-Path -Path $caDir -ChildPath 'hvreplica-ca.key'
        $replica = Invoke-HvrTestCli -StateDir $pair.ReplicaState -Argument 'cert', 'new', "--dns-name=$($pair.ReplicaName)", '--dns-name=localhost',
            "--ca-certificate-path=$caCertificate", "--ca-key-path=$caKey", '--import'
        $primary = Invoke-HvrTestCli -StateDir $pair.ReplicaState -Argument 'cert', 'new', "--dns-name=$($pair.PrimaryName)", '--dns-name=localhost',
            "--ca-certificate-path=$caCertificate", "--ca-key-path=$caKey", "--out-dir=$transfer"
        $null = Invoke-HvrTestCli -StateDir $pair.PrimaryState -Argument 'cert', 'import', "--certificate-path=$($primary.CertificatePath)", "--key-path=$($primary.KeyPath)"
        $null = Invoke-HvrTestCli -StateDir $pair.PrimaryState -Argument 'cert', 'trust', "--certificate-path=$caCertificate"
        $pair.ReplicaThumbprint = $replica.Thumbprint
        $pair.PrimaryThumbprint = $primary.Thumbprint
    }
    catch
    {
        Remove-Item -LiteralPath $root -Recurse -Force -ErrorAction SilentlyContinue
        throw
    }
    $pair
}
