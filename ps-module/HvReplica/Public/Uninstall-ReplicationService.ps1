function Uninstall-ReplicationService
{
    <#
    .SYNOPSIS
        Stops and removes an hvreplica service.
    .DESCRIPTION
        Stops and removes the service installed by Install-HvrReplicationService; the state directory
        (relationships, replicas, logs) is kept. Calls 'hvreplica service uninstall' (docs/cli-contract.md 3.12).
    .PARAMETER Role
        ReplicaServer (receives replication: 'hvreplica server run') or Agent (sends it: 'hvreplica agent run').
    .PARAMETER ServiceName
        Name of the service; default hvreplica-replica-server or hvreplica-agent.
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER Passthru
        Write the service object.
    .EXAMPLE
        Uninstall-HvrReplicationService -Role Agent

        Removes the primary agent service of this host.
    .EXAMPLE
        Uninstall-HvrReplicationService -Role ReplicaServer -Confirm:$false -Passthru

        Removes the replica server service without asking and shows it.
    .INPUTS
        None.
    .OUTPUTS
        None, or HvReplica.ReplicationService with -Passthru.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
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
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter()]
        [switch]
        $Passthru
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
            Invoke-HvrServiceCommand -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Verb 'uninstall' -Role $Role `
                -ComputerName $ComputerName -Credential $Credential -Action 'Uninstall service' -Output:$Passthru
        }
        finally
        {
            Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter
        }
    }
}
