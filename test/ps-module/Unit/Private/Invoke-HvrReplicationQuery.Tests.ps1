BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Invoke-HvrReplicationQuery' {
    BeforeAll {
        # A cmdlet shaped like Get-/Measure-VMReplication that hands its body to Invoke-HvrReplicationQuery.
        $script:harness = {
            param ($Verb, $TypeName, $Arguments)
            function Invoke-HvrQueryHarness
            {
                [CmdletBinding(DefaultParameterSetName = 'VMName')]
                param
                (
                    [Parameter(ParameterSetName = 'VMName')] [string[]] $VMName,
                    [Parameter(ParameterSetName = 'VMObject')] [psobject[]] $VM,
                    [Parameter(ParameterSetName = 'VMName')] [string[]] $ComputerName,
                    [string] $TrustGroup,
                    [string] $ReplicationState,
                    [string] $Verb,
                    [string] $TypeName
                )
                Invoke-HvrReplicationQuery -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters -Verb $Verb -TypeName $TypeName `
                    -VMName $VMName -VM $VM -ComputerName $ComputerName
            }
            Invoke-HvrQueryHarness -Verb $Verb -TypeName $TypeName @Arguments
        }
    }

    BeforeEach {
        $script:log = New-Object System.Collections.Generic.List[object]
        Mock -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -MockWith {
            $log.Add(@($Argument))
            Get-HvrCannedResult -Argument $Argument
        }
    }

    It 'lists every relationship of each host when no VM is named' {
        $output = @(InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Verb 'get' -TypeName 'HvReplica.VMReplication' -Arguments @{ ComputerName = 'hv-a', 'hv-b'; TrustGroup = 'blue' } })
        Get-HvrCliArgumentLog -Log $log | Should -Be @('replication get --trust-group=blue', 'replication get --trust-group=blue')
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'hv-b' }
        $output.Count | Should -Be 2
        $output[0].PSObject.TypeNames[0] | Should -Be 'HvReplica.VMReplication'
    }

    It 'asks about each named VM with the filters as options' {
        $output = @(InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Verb 'measure' -TypeName 'HvReplica.VMReplicationHealth' -Arguments @{ VMName = 'a', 'b'; ReplicationState = 'Replicating' } })
        Get-HvrCliArgumentLog -Log $log | Should -Be @('replication measure --vm-name=a --replication-state=Replicating', 'replication measure --vm-name=b --replication-state=Replicating')
        $output.Count | Should -Be 2
        $output[0].PSObject.TypeNames[0] | Should -Be 'HvReplica.VMReplicationHealth'
    }

    It 'asks about VM objects by name (parameter set VMObject)' {
        $vm = [pscustomobject]@{ Name = 'db1'; ComputerName = 'hv3' }
        $null = InModuleScope HvReplica.Core -Parameters @{ H = $harness; V = $vm } { & ([scriptblock]::Create($H)) -Verb 'get' -TypeName 'HvReplica.VMReplication' -Arguments @{ VM = $V } }
        Get-HvrCliArgumentLog -Log $log | Should -Be @('replication get --vm-name=db1')
        Should -Invoke -ModuleName HvReplica.Core -CommandName Invoke-HvrCli -Times 1 -Exactly -ParameterFilter { $ComputerName -eq 'hv3' }
    }

    It 'refuses a verb other than get and measure' {
        { InModuleScope HvReplica.Core -Parameters @{ H = $harness } { & ([scriptblock]::Create($H)) -Verb 'remove' -TypeName 'HvReplica.VMReplication' -Arguments @{} } } | Should -Throw
        $log.Count | Should -Be 0
    }
}
