function Invoke-HvrServiceCommand
{
    <#
    .SYNOPSIS
        The shared process body of Install-ReplicationService and Uninstall-ReplicationService.
    .DESCRIPTION
        Builds the role and service-name options (the CLI spells roles in kebab case like its own
        commands) and runs 'service <Verb>' on every host the cmdlet names.
    .PARAMETER Cmdlet
        The public cmdlet's $PSCmdlet.
    .PARAMETER BoundParameters
        The public cmdlet's $PSBoundParameters, for -ServiceName.
    .PARAMETER Verb
        The CLI verb of 'service': install or uninstall.
    .PARAMETER Role
        ReplicaServer or Agent.
    .PARAMETER ComputerName
        The cmdlet's -ComputerName; none means this host.
    .PARAMETER Credential
        Remoting credential for another host.
    .PARAMETER Action
        The ShouldProcess action text.
    .PARAMETER Output
        Write the HvReplica.ReplicationService objects.
    .EXAMPLE
        Invoke-HvrServiceCommand -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Verb install -Role Agent -Action 'Install service' -Output
    #>
    [CmdletBinding()]
    [OutputType([psobject])]
    param
    (
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet]
        $Cmdlet,

        [Parameter(Mandatory)]
        [System.Collections.IDictionary]
        $BoundParameters,

        [Parameter(Mandatory)]
        [ValidateSet('install', 'uninstall')]
        [string]
        $Verb,

        [Parameter(Mandatory)]
        [ValidateSet('ReplicaServer', 'Agent')]
        [string]
        $Role,

        [Parameter()]
        [string[]]
        $ComputerName,

        [Parameter()]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter(Mandatory)]
        [string]
        $Action,

        [Parameter()]
        [switch]
        $Output
    )

    # The CLI spells roles in kebab case like its own commands.
    $option = @('--role=' + @{ ReplicaServer = 'replica-server'; Agent = 'agent' }[$Role])
    $option += ConvertTo-HvrCliArgument -BoundParameters $BoundParameters -Name @('ServiceName')
    Invoke-HvrHostOperation -Cmdlet $Cmdlet -Command 'service', $Verb -Option $option -ComputerName $ComputerName `
        -Credential $Credential -TypeName 'HvReplica.ReplicationService' -Target ('hvreplica ' + $Role + ' service') `
        -Action $Action -Output:$Output
}
