// Hyper-V's replication enums with Hyper-V's numeric values (reference/hyperv-replica.md section 3.5),
// so that scripts comparing .State, .Health or .Mode by name or by number keep working after the port.
// Compiled by HvReplica.psm1 with Add-Type; C# 5 syntax only, so that Windows PowerShell 5.1 compiles it.
namespace HvReplica
{
    public enum VMReplicationMode
    {
        None = 0, Primary = 1, Replica = 2, TestReplica = 3, ExtendedReplica = 4
    }

    public enum VMReplicationRelationshipType
    {
        Simple = 0, Extended = 1
    }

    public enum VMReplicationHealthState
    {
        NotApplicable = 0, Normal = 1, Warning = 2, Critical = 3
    }

    public enum VMReplicationState
    {
        Disabled = 0,
        ReadyForInitialReplication = 1,
        InitialReplicationInProgress = 2,
        WaitingForInitialReplication = 3,
        Replicating = 4,
        PreparedForFailover = 5,
        FailedOverWaitingCompletion = 6,
        FailedOver = 7,
        Suspended = 8,
        Error = 9,
        WaitingForStartResynchronize = 10,
        Resynchronizing = 11,
        ResynchronizeSuspended = 12,
        RecoveryInProgress = 13,
        FailbackInProgress = 14,
        FailbackComplete = 15,
        WaitingForUpdateCompletion = 16,
        UpdateError = 17,
        WaitingForRepurposeCompletion = 18,
        PreparedForSyncReplication = 19,
        PreparedForGroupReverseReplication = 20,
        FiredrillInProgress = 21
    }

    public enum VMReplicationType
    {
        None = 0, Regular = 1, ApplicationConsistent = 2, Planned = 3
    }

    public enum ReplicationAuthenticationType
    {
        Kerberos = 1, Certificate = 2
    }

    public enum RecoveryAuthenticationType
    {
        Kerberos = 1, Certificate = 2, CertificateAndKerberos = 3
    }

    public enum SnapshotType
    {
        Standard = 0, Recovery = 1, Planned = 2, Missing = 5, Replica = 6, AppConsistentReplica = 7, SyncedReplica = 8
    }

    public enum VMReplicationServerOperationalStatus
    {
        Unknown = 0,
        Other = 1,
        Ok = 2,
        Degraded = 3,
        Stressed = 4,
        PredictiveFailure = 5,
        Error = 6,
        NonRecoverableError = 7,
        Starting = 8,
        Stopping = 9,
        Stopped = 10,
        InService = 11,
        NoContact = 12,
        LostCommunication = 13,
        Aborted = 14,
        Dormant = 15,
        SupportingEntityInError = 16,
        Completed = 17,
        PowerMode = 18
    }
}
