function Get-VMReplicationServer
{
    <#
    .SYNOPSIS
        Gets the replica server settings of a host.
    .DESCRIPTION
        As Hyper-V's Get-VMReplicationServer: whether the host accepts replication, the authentication
        types and ports of its listener, its certificate, its authorization entries and monitoring
        interval. Calls 'hvreplica server get' (docs/cli-contract.md 3.10).
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host.
    .PARAMETER Credential
        Credential for -ComputerName.
    .EXAMPLE
        Get-HvrVMReplicationServer

        Shows the replica server settings of this host.
    .EXAMPLE
        Get-HvrVMReplicationServer -ComputerName hv1, hv2 | Format-List *

        Shows every setting of two hosts.
    .INPUTS
        System.String (host names).
    .OUTPUTS
        HvReplica.VMReplicationServer
    .LINK
        about_HvReplica
    #>
    [CmdletBinding()]
    [OutputType('HvReplica.VMReplicationServer')]
    param
    (
        [Parameter(Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter(Position = 1)]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty
    )

    process
    {
        $option = @()
        Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'server', 'get' -Option $option -ComputerName $ComputerName `
            -Credential $Credential -TypeName 'HvReplica.VMReplicationServer' -Target 'replication server' `
            -Output:$true
    }
}
