function Get-HvrFreeTcpPort
{
    # A TCP port on the loopback address that is free now, chosen by the operating system.
    $listener = New-Object -TypeName System.Net.Sockets.TcpListener -ArgumentList ([System.Net.IPAddress]::Loopback), 0
    try
    {
        $listener.Start()
        $listener.LocalEndpoint.Port
    }
    finally
    {
        $listener.Stop()
    }
}
