// The recovery-checkpoint / reference-point cycle. The rule that shapes this file: a checkpoint that
// hvreplica created is either handed to the caller, converted into a reference point, or destroyed —
// on every path, including timeouts — because a stray "Recovery" checkpoint keeps an AVHDX growing
// on the primary until an administrator notices it.
#include <algorithm>
#include <set>

#include "hyperv/host.h"
#include "hyperv/wmi_errors.h"

namespace hvr::hyperv {
namespace {

constexpr int64_t kSnapshotTypeFull = 2;
constexpr int64_t kSnapshotTypeRecovery = 32768;
constexpr const char* kRecoveryType = "Microsoft:Hyper-V:Snapshot:Recovery";
constexpr const char* kStandardType = "Microsoft:Hyper-V:Snapshot:Realized";

NativeError WithNote(const NativeError& error, const std::string& note) {
  return NativeError(error.code(), std::string(error.what()) + note, error.os_errno(), error.syscall());
}

bool FallbackMayHelp(const NativeError& e) {
  return e.code() != codes::kAccessDenied && e.code() != codes::kNotFound && e.code() != hvcodes::kHyperVUnavailable &&
         e.code() != codes::kInvalidArgument;
}

ReferencePoint ToReferencePoint(const WmiObject& rp) {
  ReferencePoint out;
  out.path = rp.path;
  out.instance_id = rp.String("InstanceID");
  out.vm_id = rp.String("VirtualSystemIdentifier");
  out.consistency = rp.Int("ConsistencyLevel", 2) == 1 ? Consistency::kApplication : Consistency::kCrash;
  out.virtual_disk_ids = rp.Strings("VirtualDiskIdentifiers");
  out.rct_ids = rp.Strings("ResilientChangeTrackingIdentifiers");
  return out;
}

}  // namespace

std::vector<std::string> HyperVHost::RecoverySnapshotIds(const WmiObject& vm) {
  std::vector<std::string> ids;
  for (const WmiObject& s : wmi_.Query("ASSOCIATORS OF {" + vm.path +
                                       "} WHERE AssocClass=Msvm_SnapshotOfVirtualSystem "
                                       "ResultClass=Msvm_VirtualSystemSettingData")) {
    ids.push_back(s.String("InstanceID"));
  }
  return ids;
}

RecoveryCheckpoint HyperVHost::CreateRecoveryCheckpoint(const std::string& vm_id, Consistency consistency) {
  WmiObject vm = FindVm(vm_id);
  WmiObject settings = SettingsOf(vm);
  const bool rct = ConfigurationVersionAtLeast(settings.String("Version"), 6, 2);
  const std::string vm_name = vm.String("ElementName", vm_id);
  WmiObject service = Service("Msvm_VirtualSystemSnapshotService");
  const std::vector<std::string> before = RecoverySnapshotIds(vm);
  const std::string wanted_type = rct ? kRecoveryType : kStandardType;

  // A job that failed or timed out may still have left its checkpoint behind. Only a single new
  // checkpoint of our type is ours beyond doubt; anything else (a backup product checkpointing the
  // same VM at the same moment) is reported, not destroyed.
  auto remove_stray = [&]() -> std::string {
    std::vector<WmiObject> fresh;
    try {
      for (const WmiObject& s : wmi_.Query("ASSOCIATORS OF {" + vm.path +
                                           "} WHERE AssocClass=Msvm_SnapshotOfVirtualSystem "
                                           "ResultClass=Msvm_VirtualSystemSettingData")) {
        if (std::find(before.begin(), before.end(), s.String("InstanceID")) == before.end() &&
            s.String("VirtualSystemType") == wanted_type) {
          fresh.push_back(s);
        }
      }
      if (fresh.size() == 1) {
        DiscardCheckpoint(fresh.front().path);
        return " (the checkpoint the failed job left behind was destroyed)";
      }
      if (fresh.size() > 1) {
        return " (" + std::to_string(fresh.size()) +
               " new checkpoints appeared meanwhile; hvreplica cannot tell which is its own: check Get-VMSnapshot -VMName '" +
               vm_name + "' -SnapshotType Recovery)";
      }
      return {};
    } catch (const NativeError& cleanup) {
      return std::string(" (looking for a checkpoint left behind also failed: ") + cleanup.what() + ")";
    }
  };

  auto attempt = [&](Consistency level) -> WmiObject {
    WmiParams snapshot_settings;
    snapshot_settings["ConsistencyLevel"] = WmiValue::Int(static_cast<int64_t>(level));
    snapshot_settings["IgnoreNonSnapshottableDisks"] = WmiValue::Bool(true);
    // Copy, not Full: a full VSS backup would let guest writers truncate logs that the guest's own
    // backup chain still needs.
    snapshot_settings["GuestBackupType"] = WmiValue::Int(2);
    WmiParams in;
    in["AffectedSystem"] = WmiValue::Str(vm.path);
    in["SnapshotSettings"] = WmiValue::Str(wmi_.EmbedInstance("Msvm_VirtualSystemSnapshotSettingData", snapshot_settings));
    in["SnapshotType"] = WmiValue::Int(rct ? kSnapshotTypeRecovery : kSnapshotTypeFull);
    const std::string operation = std::string("create ") + ConsistencyName(level) + "-consistent " +
                                  (rct ? "recovery" : "standard") + " checkpoint";
    try {
      MethodResult result = Invoke(service.path, "CreateSnapshot", std::move(in), operation, vm_name);
      return ResultingObject(wmi_, result, "ResultingSnapshot", "Msvm_VirtualSystemSettingData", operation, vm_name);
    } catch (const NativeError& e) {
      throw WithNote(e, remove_stray());
    }
  };

  RecoveryCheckpoint cp;
  cp.vm_id = vm_id;
  cp.kind = rct ? "recovery" : "standard";
  cp.requested = consistency;
  WmiObject snapshot;
  try {
    snapshot = attempt(consistency);
    cp.achieved = consistency;
  } catch (const NativeError& e) {
    if (consistency != Consistency::kApplication || !FallbackMayHelp(e)) throw;
    // The guest could not quiesce (no integration services, a VSS writer failing, a Linux guest
    // without the VSS daemon): a crash-consistent point now is worth more than none, and it is
    // flagged so that the next application-consistent point is still due.
    Warn(std::string("application-consistent checkpoint of '") + vm_name +
         "' failed, taking a crash-consistent one: " + e.what());
    cp.fell_back = true;
    cp.fallback_reason = e.what();
    snapshot = attempt(Consistency::kCrash);
    cp.achieved = Consistency::kCrash;
  }
  cp.snapshot_path = snapshot.path;
  cp.snapshot_id = snapshot.String("InstanceID");

  try {
    cp.frozen_disks = DisksOf(snapshot);
    if (cp.frozen_disks.empty()) {
      throw NativeError(codes::kNotSupported, "virtual machine '" + vm_name +
                                                  "' has no virtual hard disk that a checkpoint covers (pass-through "
                                                  "and virtual Fibre Channel disks cannot be replicated)");
    }
    for (const DiskInfo& d : cp.frozen_disks) {
      if (d.path.empty()) {
        throw NativeError(codes::kNotFound, "a disk of the checkpoint of '" + vm_name + "' has no file (" +
                                                d.instance_id + "); is a drive empty?");
      }
    }
  } catch (const NativeError& e) {
    std::string note;
    try {
      DiscardCheckpoint(cp.snapshot_path);
      note = " (the checkpoint was destroyed)";
    } catch (const NativeError& cleanup) {
      note = std::string(" (destroying the checkpoint also failed: ") + cleanup.what() +
             "; remove it with Get-VMSnapshot -VMName '" + vm_name + "' -SnapshotType Recovery | Remove-VMSnapshot)";
    }
    throw WithNote(e, note);
  }
  return cp;
}

CommitResult HyperVHost::CommitReferencePoint(const std::string& vm_id, const std::string& snapshot_path,
                                              const std::string& previous_reference_point_path) {
  WmiObject vm = FindVm(vm_id);
  const std::string vm_name = vm.String("ElementName", vm_id);
  WmiObject snapshot = wmi_.GetObject(snapshot_path);
  CommitResult out;
  const std::string type = snapshot.String("VirtualSystemType");
  if (type == kRecoveryType) {
    WmiObject service = Service("Msvm_VirtualSystemSnapshotService");
    WmiParams in;
    in["AffectedSnapshot"] = WmiValue::Str(snapshot_path);
    in["ReferencePointSettings"] = WmiValue::Str("");
    try {
      MethodResult result = Invoke(service.path, "ConvertToReferencePoint", std::move(in),
                                   "convert recovery checkpoint to reference point", vm_name);
      out.reference_point = ToReferencePoint(
          ResultingObject(wmi_, result, "ResultingReferencePoint", "Msvm_VirtualSystemReferencePoint",
                          "convert recovery checkpoint to reference point", vm_name));
    } catch (const NativeError& e) {
      // The previous reference point stays, so the next cycle covers the union of both change sets;
      // the checkpoint itself must not stay.
      std::string note;
      try {
        DiscardCheckpoint(snapshot_path);
        note = " (the checkpoint was destroyed; the previous reference point is kept, so the next cycle sends "
               "these changes again)";
      } catch (const NativeError& cleanup) {
        note = cleanup.code() == codes::kNotFound
                   ? std::string(" (the checkpoint is already gone)")
                   : std::string(" (destroying the checkpoint also failed: ") + cleanup.what() + ")";
      }
      throw WithNote(e, note);
    }
    if (!previous_reference_point_path.empty()) {
      try {
        DestroyReferencePoint(previous_reference_point_path);
        out.previous_destroyed = true;
      } catch (const NativeError& e) {
        // The new point is committed and is what counts; an old RCT reference point holds no data.
        out.warning = std::string("the previous reference point could not be destroyed: ") + e.what();
        Warn(out.warning);
      }
    }
  } else if (type == kStandardType) {
    // Configuration < 6.2: the checkpoint itself is the reference point of the checkpoint tracker;
    // destroying the previous one merges its AVHDX into the chain.
    out.reference_point.path = snapshot_path;
    out.reference_point.instance_id = snapshot.String("InstanceID");
    out.reference_point.vm_id = vm_id;
    if (!previous_reference_point_path.empty()) {
      try {
        DiscardCheckpoint(previous_reference_point_path);
        out.previous_destroyed = true;
      } catch (const NativeError& e) {
        out.warning = std::string("the previous checkpoint could not be destroyed: ") + e.what();
        Warn(out.warning);
      }
    }
  } else {
    throw NativeError(codes::kInvalidArgument, "'" + snapshot_path + "' is a " +
                                                   (type.empty() ? std::string("settings object") : type) +
                                                   ", not a checkpoint hvreplica created");
  }
  return out;
}

void HyperVHost::DiscardCheckpoint(const std::string& snapshot_path) {
  WmiObject service = Service("Msvm_VirtualSystemSnapshotService");
  WmiParams in;
  in["AffectedSnapshot"] = WmiValue::Str(snapshot_path);
  Invoke(service.path, "DestroySnapshot", std::move(in), "destroy checkpoint", snapshot_path);
}

std::vector<ReferencePoint> HyperVHost::ListReferencePoints(const std::string& vm_id) {
  WmiObject vm = FindVm(vm_id);
  std::vector<ReferencePoint> out;
  for (const WmiObject& rp : wmi_.Query("ASSOCIATORS OF {" + vm.path +
                                        "} WHERE AssocClass=Msvm_ReferencePointOfVirtualSystem "
                                        "ResultClass=Msvm_VirtualSystemReferencePoint")) {
    out.push_back(ToReferencePoint(rp));
  }
  return out;
}

void HyperVHost::DestroyReferencePoint(const std::string& path) {
  WmiObject service = Service("Msvm_VirtualSystemReferencePointService");
  WmiParams in;
  in["AffectedReferencePoint"] = WmiValue::Str(path);
  Invoke(service.path, "DestroyReferencePoint", std::move(in), "destroy reference point", path);
}

void HyperVHost::ExportConfiguration(const std::string& vm_id, const std::string& snapshot_path,
                                     const std::string& directory) {
  WmiObject vm = FindVm(vm_id);
  WmiObject service = Service("Msvm_VirtualSystemManagementService");
  WmiParams settings;
  if (snapshot_path.empty()) {
    // The definition only: the replica has no use for the primary's checkpoints, and the running VM's
    // configuration is what the replica must look like.
    settings["CopySnapshotConfiguration"] = WmiValue::Int(1);  // ExportNoSnapshots
  } else {
    settings["CopySnapshotConfiguration"] = WmiValue::Int(3);  // ExportOneSnapshotForBackup
    settings["SnapshotVirtualSystem"] = WmiValue::Str(snapshot_path);
  }
  settings["CopyVmStorage"] = WmiValue::Bool(false);          // disks travel as replication logs
  settings["CopyVmRuntimeInformation"] = WmiValue::Bool(false);
  settings["CaptureLiveState"] = WmiValue::Int(0);
  settings["BackupIntent"] = WmiValue::Int(1);                // Merge
  settings["CreateVmExportSubdirectory"] = WmiValue::Bool(false);
  WmiParams in;
  in["ComputerSystem"] = WmiValue::Str(vm.path);
  in["ExportDirectory"] = WmiValue::Str(directory);
  in["ExportSettingData"] = WmiValue::Str(wmi_.EmbedInstance("Msvm_VirtualSystemExportSettingData", settings));
  Invoke(service.path, "ExportSystemDefinition", std::move(in), "export VM configuration",
         vm.String("ElementName", vm_id));
}

}  // namespace hvr::hyperv
