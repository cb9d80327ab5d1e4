# Reset-HvrPipelineParameter removes what a pipeline object bound, keeping the command-line parameters.
BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Reset-HvrPipelineParameter' {
    It 'removes every entry that was not bound on the command line' {
        $bound = InModuleScope HvReplica.Core {
            $dictionary = New-Object 'System.Collections.Generic.Dictionary[string,object]'
            $dictionary['VMName'] = @('web1')
            $dictionary['ReplicationRelationshipType'] = 'Extended'
            $dictionary['Passthru'] = [switch]$true
            Reset-HvrPipelineParameter -BoundParameters $dictionary -CommandLineParameter 'Passthru'
            , $dictionary
        }
        @($bound.Keys) | Should -Be @('Passthru')
    }

    It 'empties the dictionary when nothing came from the command line' {
        $bound = InModuleScope HvReplica.Core {
            $dictionary = @{ VMName = 'web1' }
            Reset-HvrPipelineParameter -BoundParameters $dictionary -CommandLineParameter @()
            , $dictionary
        }
        $bound.Count | Should -Be 0
    }

    It 'lets a function see only what each pipeline object bound' {
        $seen = InModuleScope HvReplica.Core {
            function Test-Carry
            {
                [CmdletBinding()]
                param
                (
                    [Parameter(ValueFromPipelineByPropertyName)] [string] $Name,
                    [Parameter(ValueFromPipelineByPropertyName)] [string] $Thumbprint,
                    [Parameter()] [string] $Fixed
                )
                begin { $commandLineParameter = @($PSBoundParameters.Keys) }
                process
                {
                    try { '{0}:{1}' -f $Name, ((@($PSBoundParameters.Keys) | Sort-Object) -join ',') }
                    finally { Reset-HvrPipelineParameter -BoundParameters $PSBoundParameters -CommandLineParameter $commandLineParameter }
                }
            }
            [pscustomobject]@{ Name = 'a'; Thumbprint = 'T' }, [pscustomobject]@{ Name = 'b' } | Test-Carry -Fixed 'x'
        }
        $seen | Should -Be @('a:Fixed,Name,Thumbprint', 'b:Fixed,Name')
    }
}
