function Unregister-ReplicationTask
{
    <#
    .SYNOPSIS
        Removes the scheduled replication task of a virtual machine.
    .DESCRIPTION
        Removes a task registered by Register-HvrReplicationTask, by VM name or by task name. Calls
        'hvreplica task unregister' (docs/cli-contract.md 3.13).
    .PARAMETER VMName
        Name of the VM. Accepts pipeline input by value and by property name
        (VMName, or Name where Hyper-V has that alias).
    .PARAMETER ComputerName
        Hosts to run on, through PowerShell remoting; default this host. Bound by property name, so
        objects from another host are acted on there.
    .PARAMETER Credential
        Credential for -ComputerName.
    .PARAMETER TaskName
        Names of the tasks to remove.
    .PARAMETER Passthru
        Write the removed tasks.
    .EXAMPLE
        Unregister-HvrReplicationTask -VMName web1

        Removes the replication task of web1.
    .EXAMPLE
        Unregister-HvrReplicationTask -TaskName hvreplica-web1 -Passthru

        Removes a task by name and shows it.
    .INPUTS
        System.String, objects with a VMName or TaskName property.
    .OUTPUTS
        None, or HvReplica.ReplicationTask with -Passthru.
    .LINK
        about_HvReplica
    #>
    [CmdletBinding(DefaultParameterSetName = 'VMName', SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('HvReplica.ReplicationTask')]
    param
    (
        [Parameter(ParameterSetName = 'VMName', Mandatory = $true, Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $VMName,

        [Parameter(ParameterSetName = 'VMName', ValueFromPipelineByPropertyName = $true)]
        [Parameter(ParameterSetName = 'TaskName', ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $ComputerName,

        [Parameter(ParameterSetName = 'VMName')]
        [Parameter(ParameterSetName = 'TaskName')]
        [System.Management.Automation.PSCredential]
        [System.Management.Automation.Credential()]
        $Credential = [System.Management.Automation.PSCredential]::Empty,

        [Parameter(ParameterSetName = 'TaskName', Mandatory = $true, ValueFromPipelineByPropertyName = $true)]
        [ValidateNotNullOrEmpty()]
        [string[]]
        $TaskName,

        [Parameter()]
        [switch]
        $Passthru
    )

    process
    {
        if ($PSCmdlet.ParameterSetName -eq 'TaskName')
        {
            foreach ($computer in (Get-HvrHostName -ComputerName $ComputerName))
            {
                foreach ($name in $TaskName)
                {
                    Invoke-HvrHostOperation -Cmdlet $PSCmdlet -Command 'task', 'unregister' -Option @('--task-name=' + $name) `
                        -ComputerName $computer -Credential $Credential -TypeName 'HvReplica.ReplicationTask' -Target $name `
                        -Action 'Unregister scheduled replication task' -Output:$Passthru
                }
            }
            return
        }
        Invoke-HvrVMOperation -Cmdlet $PSCmdlet -VMName $VMName -ComputerName $ComputerName `
            -Command 'task', 'unregister' -TypeName 'HvReplica.ReplicationTask' `
            -Action 'Unregister scheduled replication task' -Output:$Passthru -Credential $Credential
    }
}
