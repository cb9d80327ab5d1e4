function New-VMReplicationAuthorizationEntry
{
    <#
    .SYNOPSIS
        Allows a primary server to replicate to this replica server.
    .DESCRIPTION
        As Hyper-V's New-VMReplicationAuthorizationEntry: adds an authorization entry naming the primary
        server allowed to replicate here, where its replicas are stored and its trust group. hvreplica
        identifies the primary by the DNS name in its TLS certificate. Calls 'hvreplica auth add'
        (docs/cli-contract.md 3.11).
    .PARAMETER AllowedPrimaryServer
        The primary allowed to replicate here: an FQDN, '*.domain' (wildcard only as the first label) or '*' (any server; only when no other entry exists).
    .PARAMETER ReplicaStorageLocation
        Where replicas from that primary are stored.
    .PARAMETER TrustGroup
        Replica VMs accept replication only from primaries of the same trust group.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .EXAMPLE
        New-HvrVMReplicationAuthorizationEntry -AllowedPrimaryServer hv1.contoso.com -ReplicaStorageLocation D:\Replica\hv1 -TrustGroup contoso

        Allows hv1 to replicate into D:\Replica\hv1.
    .EXAMPLE
        New-HvrVMReplicationAuthorizationEntry '*.fabrikam.com' D:\Replica\fabrikam fabrikam

        Allows every host of fabrikam.com, positionally.
    .INPUTS
        System.String (the primary server).
    .OUTPUTS
        HvReplica.VMReplicationAuthorizationEntry
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.VMReplicationAuthorizationEntry')]
    param
    (
        [Parameter(Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [Alias('AllowedPS')]
        [ValidateNotNullOrEmpty()]
        [string]
        $AllowedPrimaryServer,

        [Parameter(Mandatory = $true, Position = 1, ValueFromPipelineByPropertyName = $true)]
        [Alias('StorageLoc')]
        [ValidateNotNullOrEmpty()]
        [string]
        $ReplicaStorageLocation,

        [Parameter(Mandatory = $true, Position = 2, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string]
        $TrustGroup,

        [Parameter()]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty
    )

    begin
    {
        # Values bound by property name must not carry over to the next pipeline object (Reset-HvrPipelineParameter).
        $commandLineParameter = @($PSBoundParameters.Keys)
    }

    process
    {
        try
        {
            if ($AllowedPrimaryServer -ne '*' -and $AllowedPrimaryServer -notmatch '^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$')
            {
                $PSCmdlet.ThrowTerminatingError((New-HvrErrorRecord -ErrorId 'HvrInvalidAllowedPrimaryServer' -Category InvalidArgument -TargetObject $AllowedPrimaryServer `
                            -Message ("'{0}' is not an FQDN, '*.domain' or '*': a wildcard may only be the first label." -f $AllowedPrimaryServer)))
            }
            $option = ConvertTo-HvrCliArgument -BoundParameters $PSBoundParameters -Name @('AllowedPrimaryServer', 'ReplicaStorageLocation', 'TrustGroup')
            Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'auth', 'add' -Option $option -ComputerName $ComputerName `
                -Credential $Credential -TypeName 'HvReplica.VMReplicationAuthorizationEntry' `
                -Target $AllowedPrimaryServer -Action 'Add replication authorization entry' -Output:$true
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
