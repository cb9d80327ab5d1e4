function Start-HvrCommandJob
{
    <#
    .SYNOPSIS
        Runs an HvReplica cmdlet as a background job, for -AsJob.
    .DESCRIPTION
        Hyper-V's -AsJob returns a job at once and does the work in the background. Here the job is a
        PowerShell background job (Start-Job, a separate process that works on Windows PowerShell 5.1
        and PowerShell 7 alike) that imports this same module from its path and calls the module's
        function with the parameters given. Objects do not survive the trip to another process
        unchanged, so callers pass plain values (VM names, not VMReplication objects); confirmation
        has already happened in the foreground, so the job never prompts. The job inherits the
        environment, HVR_CLI included.
    .PARAMETER CommandName
        The module's function name without the prefix, e.g. Enable-VMReplication.
    .PARAMETER Parameters
        The parameters for that function.
    .EXAMPLE
        Start-HvrCommandJob -CommandName Resume-VMReplication -Parameters @{ VMName = 'web1' }
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.Job])]
    param
    (
        [Parameter(Mandatory)]
        [string]
        $CommandName,

        [Parameter(Mandatory)]
        [hashtable]
        $Parameters
    )

    $manifest = Join-Path -Path $ExecutionContext.SessionState.Module.ModuleBase -ChildPath 'HvReplica.psd1'
    $jobParameters = @{}
    foreach ($key in $Parameters.Keys) { $jobParameters[$key] = $Parameters[$key] }
    $jobParameters['Confirm'] = $false

    $work = {
        param ([string] $ManifestPath, [string] $Name, [hashtable] $CommandParameters)
        $module = Import-Module -Name $ManifestPath -PassThru -ErrorAction Stop
        # Inside the nested module that holds the code, its functions have their own names, free of the prefix.
        $core = $module.NestedModules | Where-Object { $_.Name -eq 'HvReplica.Core' }
        & $core { param ($n, $p) & $n @p } $Name $CommandParameters
    }
    Start-Job -Name ('Hvr:{0}' -f $CommandName) -ScriptBlock $work -ArgumentList $manifest, $CommandName, $jobParameters
}
