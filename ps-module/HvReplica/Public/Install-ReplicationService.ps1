function Install-ReplicationService
{
    <#
    .SYNOPSIS
        Installs an hvreplica role as a service.
    .DESCRIPTION
        Installs and starts the replica server or the primary agent as a Windows service, or as a systemd
        unit on Linux, so that it runs at boot. Calls 'hvreplica service install' (docs/cli-contract.md 3.12).
    .PARAMETER Role
        ReplicaServer (receives replication: 'hvreplica server run') or Agent (sends it: 'hvreplica agent run').
    .PARAMETER ServiceName
        Name of the service; default hvreplica-replica-server or hvreplica-agent.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .EXAMPLE
        Install-HvrReplicationService -Role ReplicaServer

        Makes this host receive replication at every boot.
    .EXAMPLE
        Install-HvrReplicationService Agent -ComputerName hv1, hv2

        Installs the primary agent on two hosts through PowerShell remoting.
    .INPUTS
        None.
    .OUTPUTS
        HvReplica.ReplicationService
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.ReplicationService')]
    param
    (
        [Parameter(Mandatory = $true, Position = 0, ValueFromPipelineByPropertyName = $true)]
        [ValidateSet('ReplicaServer', 'Agent')]
        [string]
        $Role,

        [Parameter(ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string]
        $ServiceName,

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
            Invoke-HvrServiceCommand -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Verb 'install' -Role $Role `
                -ComputerName $ComputerName -Credential $Credential -Action 'Install service' -Output:$true
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
