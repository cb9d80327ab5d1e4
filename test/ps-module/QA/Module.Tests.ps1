# The module as a whole: manifest, exports with the Hvr prefix, side-by-side loading with Hyper-V's
# module, format and type data, and help on every exported cmdlet.
# PSScriptAnalyzer is not part of this suite: it is not served by the NuGet source this project can
# use, so CI cannot install it (see test/ps-module/README.md).
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../TestHelpers.ps1')
    Import-HvrTestModule
    $script:moduleRoot = Split-Path -Path $HvrManifestPath -Parent
    $script:manifest = Import-PowerShellDataFile -Path $HvrManifestPath
    $script:coreManifest = Import-PowerShellDataFile -Path (Join-Path -Path $moduleRoot -ChildPath 'HvReplica.Core.psd1')
}

BeforeDiscovery {
    $manifestPath = Join-Path -Path $PSScriptRoot -ChildPath '../../../ps-module/HvReplica/HvReplica.psd1'
    $coreManifestPath = Join-Path -Path $PSScriptRoot -ChildPath '../../../ps-module/HvReplica/HvReplica.Core.psd1'
    $script:exported = @((Import-PowerShellDataFile -Path $coreManifestPath).FunctionsToExport |
            ForEach-Object { @{ Name = $_; Exported = ($_ -replace '^([A-Za-z]+)-', '$1-Hvr') } })
    $script:publicFiles = @(Get-ChildItem -Path (Join-Path -Path (Split-Path $manifestPath) -ChildPath 'Public') -Filter '*.ps1' | ForEach-Object { @{ Path = $_.FullName; Name = $_.BaseName } })
    # Public cmdlets that take pipeline input and read $PSBoundParameters.
    $script:pipelineReaders = @($publicFiles | Where-Object {
            $function = [System.Management.Automation.Language.Parser]::ParseFile($_.Path, [ref]$null, [ref]$null).EndBlock.Statements[0]
            $pipelineInput = @($function.Body.ParamBlock.Parameters | Where-Object {
                    @($_.Attributes.NamedArguments | Where-Object { $_.ArgumentName -in 'ValueFromPipeline', 'ValueFromPipelineByPropertyName' }).Count -gt 0 })
            $readsBound = @($function.Body.FindAll({ param ($node) $node -is [System.Management.Automation.Language.VariableExpressionAst] -and $node.VariablePath.UserPath -eq 'PSBoundParameters' }, $true))
            $pipelineInput.Count -gt 0 -and $readsBound.Count -gt 0
        })
    $script:privateFiles = @(Get-ChildItem -Path (Join-Path -Path (Split-Path $manifestPath) -ChildPath 'Private') -Filter '*.ps1' | ForEach-Object { @{ Path = $_.FullName; Name = $_.BaseName } })
}

Describe 'Manifest' {
    It 'is valid' {
        { Test-ModuleManifest -Path $HvrManifestPath -ErrorAction Stop } | Should -Not -Throw
    }

    It 'keeps the code in a nested module with DefaultCommandPrefix Hvr and Hyper-V''s names' {
        $manifest.NestedModules | Should -Be @('HvReplica.Core.psd1')
        $manifest.ContainsKey('RootModule') | Should -BeFalse
        $coreManifest.DefaultCommandPrefix | Should -BeExactly 'Hvr'
        $coreManifest.RootModule | Should -Be 'HvReplica.psm1'
    }

    It 'lists its exports explicitly: the prefixed names outside, Hyper-V''s names inside' {
        foreach ($data in $manifest, $coreManifest)
        {
            $data.FunctionsToExport | Should -Not -Contain '*'
            $data.CmdletsToExport.Count | Should -Be 0
            $data.AliasesToExport.Count | Should -Be 0
            $data.VariablesToExport.Count | Should -Be 0
        }
        $prefixed = @($coreManifest.FunctionsToExport | ForEach-Object { $_ -replace '^([A-Za-z]+)-', '$1-Hvr' })
        $manifest.FunctionsToExport | Should -Be $prefixed
    }

    It 'lists exactly the functions of Public/' {
        $files = @(Get-ChildItem -Path (Join-Path -Path $moduleRoot -ChildPath 'Public') -Filter '*.ps1' | ForEach-Object BaseName | Sort-Object)
        @($coreManifest.FunctionsToExport | Sort-Object) | Should -Be $files
    }

    It 'has every cmdlet of DESIGN section 4 and the issue' {
        $expected = 'Enable-VMReplication', 'Set-VMReplication', 'Get-VMReplication', 'Measure-VMReplication', 'Remove-VMReplication',
        'Suspend-VMReplication', 'Resume-VMReplication', 'Stop-VMReplication', 'Reset-VMReplicationStatistics',
        'Start-VMInitialReplication', 'Stop-VMInitialReplication', 'Import-VMInitialReplication', 'Start-VMFailover',
        'Complete-VMFailover', 'Stop-VMFailover', 'Test-VMReplicationConnection', 'Get-VMReplicationServer',
        'Set-VMReplicationServer', 'New-VMReplicationAuthorizationEntry', 'Get-VMReplicationAuthorizationEntry',
        'Set-VMReplicationAuthorizationEntry', 'Remove-VMReplicationAuthorizationEntry', 'Register-ReplicationTask',
        'Unregister-ReplicationTask', 'Install-ReplicationService', 'Uninstall-ReplicationService'
        foreach ($name in $expected) { $coreManifest.FunctionsToExport | Should -Contain $name }
    }
}

Describe 'Exports' {
    It 'exports <Name> as <Exported>, and not under its own name' -ForEach $exported {
        $command = Get-Command -Name $Exported -Module HvReplica -ErrorAction SilentlyContinue
        $command | Should -Not -BeNullOrEmpty
        $command.CommandType | Should -Be 'Function'
        Get-Command -Name $Name -Module HvReplica -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'exports nothing else (no private function leaks)' {
        $names = @(Get-Command -Module HvReplica | ForEach-Object Name | Sort-Object)
        $names | Should -Be @($exported | ForEach-Object { $_.Exported } | Sort-Object)
    }

}

Describe 'Beside Hyper-V''s module' {
    BeforeAll {
        # A stand-in with Hyper-V's module name and the same command names (Hyper-V itself exists only on
        # Windows Server): what matters is the name clash, not what the commands do.
        $script:hyperV = New-Module -Name 'Hyper-V' -ScriptBlock {
            function Enable-VMReplication { 'Hyper-V Enable-VMReplication' }
            function Get-VMReplication { 'Hyper-V Get-VMReplication' }
            function Start-VMFailover { 'Hyper-V Start-VMFailover' }
            function Get-VMSnapshot { 'Hyper-V Get-VMSnapshot' }
            Export-ModuleMember -Function *
        } | Import-Module -Global -PassThru
        Import-HvrTestModule
    }
    AfterAll {
        Remove-Module -ModuleInfo $hyperV -ErrorAction SilentlyContinue
    }

    It 'leaves Hyper-V''s <_> in place' -ForEach 'Enable-VMReplication', 'Get-VMReplication', 'Start-VMFailover', 'Get-VMSnapshot' {
        (Get-Command -Name $_).Source | Should -Be 'Hyper-V'
        & $_ | Should -Be "Hyper-V $_"
    }

    It 'keeps its own functions under the prefix' {
        (Get-Command -Name 'Enable-HvrVMReplication').Source | Should -Be 'HvReplica'
        (Get-Command -Name 'Get-HvrVMSnapshot').Source | Should -Be 'HvReplica'
    }

    It 'resolves its own internal names to itself, not to Hyper-V (what -AsJob relies on)' {
        $inside = & (Get-HvrCoreModule) { Get-Command -Name 'Enable-VMReplication' }
        $inside.Module.Name | Should -Be 'HvReplica.Core'
    }
}

Describe 'Auto-loading beside Hyper-V''s module' {
    # A new session with HvReplica ahead of a module named Hyper-V in PSModulePath, as on a Windows host
    # where HvReplica sits in Program Files and Hyper-V in System32: Hyper-V's names must still reach
    # Hyper-V, and the prefixed names must load HvReplica (PowerShell issue #12858 is why this needs the
    # nested-module layout).
    BeforeAll {
        $script:hyperVRoot = Join-Path -Path $TestDrive -ChildPath 'modules-hyperv'
        $null = New-Item -ItemType Directory -Path (Join-Path -Path $hyperVRoot -ChildPath 'Hyper-V')
        Set-Content -Path (Join-Path -Path $hyperVRoot -ChildPath 'Hyper-V/Hyper-V.psm1') -Value "function Enable-VMReplication { 'Hyper-V Enable-VMReplication' }"
        New-ModuleManifest -Path (Join-Path -Path $hyperVRoot -ChildPath 'Hyper-V/Hyper-V.psd1') -RootModule 'Hyper-V.psm1' -FunctionsToExport 'Enable-VMReplication' -CmdletsToExport @() -AliasesToExport @() -VariablesToExport @()
        $modulesRoot = Split-Path -Path $moduleRoot -Parent
        $script:modulePath = $modulesRoot + [IO.Path]::PathSeparator + $hyperVRoot + [IO.Path]::PathSeparator + $env:PSModulePath
        function script:Resolve-InNewSession
        {
            # A new runspace has nothing imported, so command lookup goes through auto-discovery; the
            # process-wide PSModulePath is set for it and restored afterwards.
            param ([string] $Command)
            $saved = $env:PSModulePath
            $ps = [powershell]::Create()
            try
            {
                $env:PSModulePath = $modulePath
                $null = $ps.AddScript({
                        param ($Name)
                        $resolved = Get-Command -Name $Name -ErrorAction SilentlyContinue
                        [pscustomobject]@{ Source = [string]$resolved.Source; Loaded = @(Get-Module | ForEach-Object Name) }
                    }).AddArgument($Command)
                $ps.Invoke() | Select-Object -First 1
            }
            finally
            {
                $ps.Dispose()
                $env:PSModulePath = $saved
            }
        }
    }

    It 'finds Hyper-V''s Enable-VMReplication, not HvReplica''s, in a new session' {
        $answer = Resolve-InNewSession -Command 'Enable-VMReplication'
        $answer.Source | Should -Be 'Hyper-V'
        $answer.Loaded | Should -Not -Contain 'HvReplica'
    }

    It 'auto-loads HvReplica for Enable-HvrVMReplication in a new session' {
        $answer = Resolve-InNewSession -Command 'Enable-HvrVMReplication'
        $answer.Source | Should -Be 'HvReplica'
        $answer.Loaded | Should -Contain 'HvReplica'
    }
}

Describe 'Format and type data' {
    It 'has a table view and alias properties for <_>' -ForEach 'HvReplica.VMReplication', 'HvReplica.VMReplicationHealth', 'HvReplica.VMReplicationServer', 'HvReplica.VMReplicationAuthorizationEntry' {
        Get-FormatData -TypeName $_ | Should -Not -BeNullOrEmpty
        (Get-TypeData -TypeName $_).Members.Count | Should -BeGreaterThan 0
    }

    It 'defines Hyper-V''s enums with Hyper-V''s values' {
        [int][HvReplica.VMReplicationState]::FiredrillInProgress | Should -Be 21
        [int][HvReplica.VMReplicationState]::WaitingForStartResynchronize | Should -Be 10
        [int][HvReplica.VMReplicationHealthState]::Critical | Should -Be 3
        [int][HvReplica.VMReplicationMode]::ExtendedReplica | Should -Be 4
        [int][HvReplica.RecoveryAuthenticationType]::CertificateAndKerberos | Should -Be 3
        [int][HvReplica.SnapshotType]::SyncedReplica | Should -Be 8
        [int][HvReplica.VMReplicationServerOperationalStatus]::PowerMode | Should -Be 18
    }

    It 'imports a second time without redefining the enums' {
        { Import-HvrTestModule } | Should -Not -Throw
    }
}

Describe 'Help of <Exported>' -ForEach $exported {
    BeforeAll {
        $script:help = Get-Help -Name $Exported -Full
        $script:command = Get-Command -Name $Exported
    }

    It 'has a synopsis of its own' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match ([regex]::Escape($Exported) + '\s*\[')
    }

    It 'has a description' {
        ($help.Description.Text -join ' ').Length | Should -BeGreaterThan 40
    }

    It 'has at least one example with code and a remark' {
        $examples = @($help.Examples.Example)
        $examples.Count | Should -BeGreaterThan 0
        foreach ($example in $examples)
        {
            $example.Code | Should -Match 'Hvr'
            ($example.Remarks.Text -join '').Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'describes every parameter' {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($parameter in $command.Parameters.Keys | Where-Object { $_ -notin $common })
        {
            $text = ($help.Parameters.Parameter | Where-Object Name -eq $parameter).Description.Text -join ''
            $text | Should -Not -BeNullOrEmpty -Because "-$parameter of $Exported needs a description"
        }
    }

    It 'declares its output type' {
        $command.OutputType.Count | Should -BeGreaterThan 0
    }
}

Describe 'One function per file: <Name>' -ForEach ($publicFiles + $privateFiles) {
    It 'defines exactly the function the file is named after' {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$null, [ref]$null)
        $functions = @($ast.FindAll({ $args[0] -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $args[0].Parent -eq $ast.EndBlock.Statements[0].Parent }, $false))
        $top = @($ast.EndBlock.Statements | Where-Object { $_ -is [System.Management.Automation.Language.FunctionDefinitionAst] })
        $top.Count | Should -Be 1
        $top[0].Name | Should -BeExactly $Name
        @($ast.EndBlock.Statements).Count | Should -Be 1
    }
}

# PowerShell leaves a value bound from one pipeline object in $PSBoundParameters while the next object is
# processed. A cmdlet that takes pipeline input and reads $PSBoundParameters must forget what each object
# bound once it is done with it (Reset-HvrPipelineParameter in a finally at the end of process), having
# noted its command-line parameters in begin. Unit/Public/PipelineBinding.Tests.ps1 shows the effect.
Describe 'Pipeline values of <Name> do not carry over' -ForEach $pipelineReaders {
    It 'notes its command-line parameters in begin and resets the others after each object' {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$null, [ref]$null)
        $body = $ast.EndBlock.Statements[0].Body
        $body.BeginBlock | Should -Not -BeNullOrEmpty
        $body.BeginBlock.Extent.Text | Should -Match '\$commandLineParameter = @\(\$PSBoundParameters\.Keys\)'
        @($body.ProcessBlock.Statements).Count | Should -Be 1
        $body.ProcessBlock.Statements[0] | Should -BeOfType [System.Management.Automation.Language.TryStatementAst]
        $body.ProcessBlock.Statements[0].Finally.Extent.Text |
            Should -Match 'Reset-HvrPipelineParameter -BoundParameters \$PSBoundParameters -CommandLineParameter \$commandLineParameter'
    }
}

Describe 'about_HvReplica' {
    It 'exists and names every exported cmdlet' {
        $path = Join-Path -Path $moduleRoot -ChildPath 'en-US/about_HvReplica.help.txt'
        Test-Path -LiteralPath $path | Should -BeTrue
        $text = Get-Content -Raw -Path $path
        foreach ($entry in $manifest.FunctionsToExport) { $text | Should -Match ([regex]::Escape($entry)) }
        $text | Should -Match 'ComputerName'
        $text | Should -Match 'HVR_CLI'
    }
}
