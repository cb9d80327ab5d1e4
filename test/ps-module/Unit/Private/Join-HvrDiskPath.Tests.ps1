BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath '../../TestHelpers.ps1')
    Import-HvrTestModule
}

Describe 'Join-HvrDiskPath' {
    It 'puts the paths first, then the Path of each disk object' {
        $disks = @([pscustomobject]@{ Path = '/vm/c.vhdx' }, [pscustomobject]@{ Path = '/vm/d.vhdx' })
        $paths = InModuleScope HvReplica.Core -Parameters @{ D = $disks } { Join-HvrDiskPath -Path '/vm/a.vhdx', '/vm/b.vhdx' -Disk $D }
        $paths | Should -Be @('/vm/a.vhdx', '/vm/b.vhdx', '/vm/c.vhdx', '/vm/d.vhdx')
    }

    It 'leaves out disks without a path and works without -Path' {
        $disks = @([pscustomobject]@{ Path = '' }, [pscustomobject]@{ Name = 'x' }, [pscustomobject]@{ Path = '/vm/e.vhdx' })
        $paths = @(InModuleScope HvReplica.Core -Parameters @{ D = $disks } { Join-HvrDiskPath -Disk $D })
        $paths | Should -Be @('/vm/e.vhdx')
    }

    It 'writes nothing when there is no path at all' {
        $paths = @(InModuleScope HvReplica.Core { Join-HvrDiskPath -Disk @([pscustomobject]@{ Path = $null }) })
        $paths.Count | Should -Be 0
    }
}
