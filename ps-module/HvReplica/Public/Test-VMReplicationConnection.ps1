function Test-VMReplicationConnection
{
    <#
    .SYNOPSIS
        Tests the connection and authentication to a replica server.
    .DESCRIPTION
        As Hyper-V's Test-VMReplicationConnection: connects to the replica server with the given port,
        authentication and certificate and reports success with Hyper-V's sentence, or a terminating error
        saying what failed (connection, certificate, authorization). Calls 'hvreplica connection test'
        (docs/cli-contract.md 3.9).
    .PARAMETER ReplicaServerName
        DNS name of the replica server.
    .PARAMETER ReplicaServerPort
        Port of its listener, 1-65535.
    .PARAMETER AuthenticationType
        Kerberos or Certificate.
    .PARAMETER CertificateThumbprint
        Certificate to authenticate with; required exactly when the type is Certificate.
    .PARAMETER BypassProxyServer
        Connect directly, not through the proxy.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .EXAMPLE
        Test-HvrVMReplicationConnection -ReplicaServerName replica.contoso.com -ReplicaServerPort 443 -AuthenticationType Certificate -CertificateThumbprint 0442C676C8726ADDD1CE029AFC20EB158490AFC8

        Tests certificate authentication to replica.contoso.com.
    .EXAMPLE
        Test-HvrVMReplicationConnection replica.contoso.com 443 Certificate $thumb

        The same with positional parameters.
    .INPUTS
        None.
    .OUTPUTS
        System.String
    .LINK
        about_HvReplica
    #>
    [CmdletBinding()]
    [OutputType('System.String')]
    param
    (
        [Parameter(Mandatory = $true, Position = 0)]
        [Alias('ReplicaServer')]
        [ValidateNotNullOrEmpty()]
        [string]
        $ReplicaServerName,

        [Parameter(Mandatory = $true, Position = 1)]
        [Alias('ReplicaPort')]
        [ValidateRange(1, 65535)]
        [int]
        $ReplicaServerPort,

        [Parameter(Mandatory = $true, Position = 2)]
        [Alias('AuthType')]
        [HvReplica.ReplicationAuthenticationType]
        $AuthenticationType,

        [Parameter(Position = 3)]
        [Alias('Thumbprint', 'Cert')]
        [string]
        $CertificateThumbprint,

        [Parameter()]
        [bool]
        $BypassProxyServer,

        [Parameter()]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty
    )

    process
    {
        # Collected, not thrown: a caught throw would also land in the caller's -ErrorVariable.
        $problems = @()
        $problems += @(Get-HvrThumbprintError -AuthenticationType $AuthenticationType -CertificateThumbprint $CertificateThumbprint)
        if ($problems.Count -gt 0)
        {
            $PSCmdlet.ThrowTerminatingError($problems[0])
        }
        $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @(
            'ReplicaServerName', 'ReplicaServerPort', 'AuthenticationType', 'CertificateThumbprint', 'BypassProxyServer'
        )
        foreach ($computer in (Get-HvrHostName -ComputerName $ComputerName))
        {
            $answer = Invoke-HvrCli -Argument (@('connection', 'test') + $option) -ComputerName $computer -Credential $Credential `
                -TargetObject $ReplicaServerName
            if ($null -ne $answer.Error)
            {
                # Hyper-V reports a failed connection as a terminating error.
                $PSCmdlet.ThrowTerminatingError($answer.Error)
            }
            # Hyper-V's own words, so that scripts matching on them keep working.
            'The connection to the specified Replica server with the specified parameters was successful.'
        }
    }
}
