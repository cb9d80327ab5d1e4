# How ConvertTo-HvrOutputObject turns a CLI result (docs/cli-contract.md section 2) into a typed object.
# Per PSTypeName: every property the contract requires, with the conversion it needs. Kinds:
#   Value            kept as JSON gave it (string, number, bool, null)
#   Guid, DateTime, TimeSpan (JSON seconds), StringArray
#   Enum:<type>      cast to the HvReplica enum (Types/HvReplica.Enums.cs); unknown names are errors
#   EnumArray:<type> the same for an array
#   Object:<PSTypeName> / ObjectArray:<PSTypeName>   nested objects converted recursively
#   PortMapping      JSON object { fqdn: port } -> hashtable
@{
    'HvReplica.VMReplication'                    = @{
        VMName                                  = 'Value'
        VMId                                    = 'Guid'
        ComputerName                            = 'Value'
        ReplicationMode                         = 'Enum:HvReplica.VMReplicationMode'
        ReplicationRelationshipType             = 'Enum:HvReplica.VMReplicationRelationshipType'
        ReplicationState                        = 'Enum:HvReplica.VMReplicationState'
        ReplicationHealth                       = 'Enum:HvReplica.VMReplicationHealthState'
        PrimaryServerName                       = 'Value'
        ReplicaServerName                       = 'Value'
        CurrentReplicaServerName                = 'Value'
        ReplicaServerPort                       = 'Value'
        AuthenticationType                      = 'Enum:HvReplica.ReplicationAuthenticationType'
        CertificateThumbprint                   = 'Value'
        CompressionEnabled                      = 'Value'
        BypassProxyServer                       = 'Value'
        ReplicateHostKvpItems                   = 'Value'
        EnableWriteOrderPreservationAcrossDisks = 'Value'
        ReplicationFrequencySec                 = 'Value'
        RecoveryHistory                         = 'Value'
        VSSSnapshotFrequencyHour                = 'Value'
        VSSSnapshotReplicationEnabled           = 'Value'
        ReplicatedDisks                         = 'ObjectArray:HvReplica.HardDiskDrive'
        ExcludedDisks                           = 'ObjectArray:HvReplica.HardDiskDrive'
        AutoResynchronizeEnabled                = 'Value'
        AutoResynchronizeIntervalStart          = 'TimeSpan'
        AutoResynchronizeIntervalEnd            = 'TimeSpan'
        InitialReplicationStartTime             = 'DateTime'
        ResynchronizeStartTime                  = 'DateTime'
        LastReplicationTime                     = 'DateTime'
        LastAppliedLogTime                      = 'DateTime'
        AllowedPrimaryServer                    = 'Value'
        TestVirtualMachine                      = 'Object:HvReplica.VirtualMachine'
    }
    'HvReplica.VMReplicationHealth'              = @{
        VMName                        = 'Value'
        VMId                          = 'Guid'
        ComputerName                  = 'Value'
        ReplicationMode               = 'Enum:HvReplica.VMReplicationMode'
        ReplicationRelationshipType   = 'Enum:HvReplica.VMReplicationRelationshipType'
        ReplicationState              = 'Enum:HvReplica.VMReplicationState'
        ReplicationHealth             = 'Enum:HvReplica.VMReplicationHealthState'
        PrimaryServerName             = 'Value'
        ReplicaServerName             = 'Value'
        CurrentReplicaServerName      = 'Value'
        LastReplicationTime           = 'DateTime'
        LastAppliedLogTime            = 'DateTime'
        ReplicatedDisks               = 'ObjectArray:HvReplica.HardDiskDrive'
        AllowedPrimaryServer          = 'Value'
        TestVirtualMachine            = 'Object:HvReplica.VirtualMachine'
        MonitoringStartTime           = 'DateTime'
        MonitoringEndTime             = 'DateTime'
        AverageReplicationSize        = 'Value'
        MaximumReplicationSize        = 'Value'
        AverageReplicationLatency     = 'TimeSpan'
        MaximumReplicationLatency     = 'TimeSpan'
        ReplicationErrors             = 'Value'
        SuccessfulReplicationCount    = 'Value'
        MissedReplicationCount        = 'Value'
        PendingReplicationSize        = 'Value'
        InitialReplicationSize        = 'Value'
        LastReplicationType           = 'Enum:HvReplica.VMReplicationType'
        FailedOverReplicationType     = 'Enum:HvReplica.VMReplicationType'
        LastVSSSnapshotTime           = 'DateTime'
        LastTestFailoverInitiatedTime = 'DateTime'
        ReplicationHealthDetails      = 'StringArray'
        CurrentTask                   = 'ObjectArray:HvReplica.VMCurrentTask'
    }
    'HvReplica.VMReplicationServer'              = @{
        ComputerName                         = 'Value'
        ReplicationEnabled                   = 'Value'
        AllowedAuthenticationType            = 'Enum:HvReplica.RecoveryAuthenticationType'
        ReplicationAllowedFromAnyServer      = 'Value'
        DefaultStorageLocation               = 'Value'
        KerberosAuthenticationPort           = 'Value'
        CertificateAuthenticationPort        = 'Value'
        KerberosAuthenticationPortMapping    = 'PortMapping'
        CertificateAuthenticationPortMapping = 'PortMapping'
        CertificateThumbprint                = 'Value'
        MonitoringInterval                   = 'TimeSpan'
        MonitoringStartTime                  = 'TimeSpan'
        AuthorizationEntries                 = 'ObjectArray:HvReplica.VMReplicationAuthorizationEntry'
        OperationalStatus                    = 'EnumArray:HvReplica.VMReplicationServerOperationalStatus'
        StatusDescriptions                   = 'StringArray'
    }
    'HvReplica.VMReplicationAuthorizationEntry' = @{
        AllowedPrimaryServer   = 'Value'
        ReplicaStorageLocation = 'Value'
        TrustGroup             = 'Value'
        ComputerName           = 'Value'
    }
    'HvReplica.VMSnapshot'                       = @{
        VMName       = 'Value'
        VMId         = 'Guid'
        Id           = 'Value'
        Name         = 'Value'
        SnapshotType = 'Enum:HvReplica.SnapshotType'
        CreationTime = 'DateTime'
        ComputerName = 'Value'
    }
    'HvReplica.VirtualMachine'                   = @{
        Name              = 'Value'
        Id                = 'Guid'
        State             = 'Value'
        ReplicationMode   = 'Enum:HvReplica.VMReplicationMode'
        ReplicationState  = 'Enum:HvReplica.VMReplicationState'
        ReplicationHealth = 'Enum:HvReplica.VMReplicationHealthState'
        ComputerName      = 'Value'
    }
    'HvReplica.HardDiskDrive'                    = @{
        Path               = 'Value'
        ControllerType     = 'Value'
        ControllerNumber   = 'Value'
        ControllerLocation = 'Value'
    }
    'HvReplica.VMCurrentTask'                    = @{
        Name             = 'Value'
        PercentComplete  = 'Value'
        StartTime        = 'DateTime'
        BytesTransferred = 'Value'
        BytesTotal       = 'Value'
    }
    'HvReplica.ReplicationService'               = @{
        ServiceName = 'Value'
        Role        = 'Value'
        Manager     = 'Value'
        Status      = 'Value'
    }
    'HvReplica.ReplicationTask'                  = @{
        TaskName    = 'Value'
        VMName      = 'Value'
        IntervalSec = 'Value'
        Command     = 'Value'
        Scheduler   = 'Value'
        Status      = 'Value'
    }
}
