# The module must run on Windows PowerShell 5.1 as well as PowerShell 7, and CI has only PowerShell 7.
# So the source is checked statically: every file is parsed with the PowerShell 7 parser (which knows
# the newer grammar and therefore represents it in the AST) and any construct, command, parameter or
# variable that 5.1 lacks fails the test (Find-Ps7OnlySyntax.ps1). The checker is itself tested on
# samples of each construct, so that a green result cannot come from a checker that finds nothing.
# Files must also be ASCII (5.1 reads BOM-less files in the ANSI code page) and the C# enums must be
# C# 5, which is what Add-Type compiles on 5.1.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../TestHelpers.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Find-Ps7OnlySyntax.ps1')
    $script:moduleRoot = Split-Path -Path $HvrManifestPath -Parent
}

BeforeDiscovery {
    $root = Join-Path -Path $PSScriptRoot -ChildPath '../../../ps-module/HvReplica'
    $script:sourceFiles = @(Get-ChildItem -Path $root -Recurse -File -Include '*.ps1', '*.psm1', '*.psd1' |
            ForEach-Object { @{ Path = $_.FullName; Name = $_.FullName.Substring((Resolve-Path $root).Path.Length + 1) } })
    $script:allFiles = @(Get-ChildItem -Path $root -Recurse -File |
            ForEach-Object { @{ Path = $_.FullName; Name = $_.FullName.Substring((Resolve-Path $root).Path.Length + 1) } })
}

Describe 'The 7-only syntax checker' {
    It 'finds <What>' -ForEach @(
        @{ What = 'a ternary'; Code = '$a = $b ? 1 : 2' }
        @{ What = '??'; Code = '$a = $b ?? 3' }
        @{ What = '??='; Code = '$a ??= 3' }
        @{ What = '?. on a member'; Code = '${a}?.Length' }
        @{ What = '?. on a method'; Code = '${a}?.ToString()' }
        @{ What = '?[]'; Code = '${a}?[0]' }
        @{ What = '&&'; Code = 'Get-Item . && Get-Item ..' }
        @{ What = '||'; Code = 'Get-Item . || Get-Item ..' }
        @{ What = 'a clean block'; Code = 'function f { process { 1 } clean { 2 } }' }
        @{ What = 'ForEach-Object -Parallel'; Code = '1..3 | ForEach-Object -Parallel { $_ }' }
        @{ What = 'ConvertFrom-Json -AsHashtable'; Code = '"{}" | ConvertFrom-Json -AsHashtable' }
        @{ What = 'Join-String'; Code = '1, 2 | Join-String' }
        @{ What = '$IsWindows'; Code = 'if ($IsWindows) { 1 }' }
    ) {
        @(Find-Ps7OnlySyntax -Source $Code).Count | Should -BeGreaterThan 0
    }

    It 'accepts 5.1 code' {
        $code = 'function f { [CmdletBinding()] param([string] $a) process { if ($a) { $a } else { "b" }; $x = @{ a = 1 }; [ordered]@{}; $a.Length; $a[0] } }'
        @(Find-Ps7OnlySyntax -Source $code) | Should -BeNullOrEmpty
    }
}

Describe 'Windows PowerShell 5.1 compatibility of <Name>' -ForEach $sourceFiles {
    It 'has no PowerShell-7-only syntax' {
        $findings = @(Find-Ps7OnlySyntax -Source (Get-Content -Raw -Path $Path) -Path $Name)
        $findings -join "`n" | Should -BeNullOrEmpty
    }
}

Describe 'Encoding of <Name>' -ForEach $allFiles {
    It 'is ASCII' {
        $bytes = [System.IO.File]::ReadAllBytes($Path)
        $nonAscii = @($bytes | Where-Object { $_ -gt 127 }).Count
        $nonAscii | Should -Be 0
    }
}

Describe 'The C# enums' {
    It 'use only C# 5 syntax, which Add-Type compiles on Windows PowerShell 5.1' {
        $source = Get-Content -Raw -Path (Join-Path -Path $moduleRoot -ChildPath 'Types/HvReplica.Enums.cs')
        $source | Should -Not -Match '=>|\$"|\?\.|nameof\(|\bvar\b|\busing static\b'
        $source | Should -Match 'namespace HvReplica'
    }
}

Describe 'The manifest' {
    It 'declares Windows PowerShell 5.1 and PowerShell 7' {
        $manifest = Import-PowerShellDataFile -Path $HvrManifestPath
        $manifest.PowerShellVersion | Should -Be '5.1'
        $manifest.CompatiblePSEditions | Should -Be @('Core', 'Desktop')
    }
}
