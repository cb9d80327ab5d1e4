// What the Hyper-V host adapter returns to the binding: plain structs, no WMI or Node-API types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hvr::hyperv {

enum class Consistency { kApplication = 1, kCrash = 2 };
const char* ConsistencyName(Consistency c);  // "application" / "crash"

struct VmSummary {
  std::string id;    // Msvm_ComputerSystem.Name (GUID)
  std::string name;  // ElementName
  std::string state; // running, off, saved, paused, starting, stopping, other
  int64_t enabled_state = 0;
};

struct NetworkAdapterInfo {
  std::string name;
  std::string instance_id;
  std::string mac_address;  // 12 hex digits as Hyper-V stores it
  bool static_mac = false;
  std::string switch_path;  // connected switch (HostResource of the allocation), empty when unconnected
  bool connected = false;
};

struct DiskInfo {
  std::string instance_id;  // RASD InstanceID (Microsoft:<vm or snapshot id>\<device>\<controller>\<slot>\L)
  std::string device_key;   // InstanceID without the owner prefix: the same for the VM and its checkpoints
  std::string path;         // HostResource[0]
  uint64_t virtual_size = 0;        // filled by DescribeVm (Msvm_VirtualHardDiskSettingData.MaxInternalSize)
  uint32_t logical_sector_size = 0; // ditto (LogicalSectorSize); 0 when not asked for
};

struct VmInfo {
  VmSummary summary;
  int generation = 0;                 // 1 or 2
  std::string configuration_version;  // e.g. "9.0"
  bool rct_supported = false;         // configuration version >= 6.2
  std::string change_tracking;        // "rct" or "checkpoint"
  std::string change_tracking_note;   // why, for a VM below 6.2
  int64_t processors = 0;
  int64_t memory_mb = 0;
  bool dynamic_memory = false;
  std::vector<NetworkAdapterInfo> network_adapters;
  std::vector<DiskInfo> disks;
};

struct RecoveryCheckpoint {
  std::string vm_id;
  std::string snapshot_path;       // WMI path of the checkpoint's Msvm_VirtualSystemSettingData
  std::string snapshot_id;         // its InstanceID
  std::string kind;                // "recovery" (RCT) or "standard" (checkpoint tracker, config < 6.2)
  Consistency requested = Consistency::kCrash;
  Consistency achieved = Consistency::kCrash;
  bool fell_back = false;          // application-consistent was requested and failed
  std::string fallback_reason;
  std::vector<DiskInfo> frozen_disks;  // HostResource of the checkpoint's disks: read-only from now on
};

struct ReferencePoint {
  std::string path;
  std::string instance_id;
  std::string vm_id;
  Consistency consistency = Consistency::kCrash;
  std::vector<std::string> virtual_disk_ids;
  std::vector<std::string> rct_ids;  // same order as virtual_disk_ids
};

struct CommitResult {
  ReferencePoint reference_point;
  bool previous_destroyed = false;
  std::string warning;  // why the previous reference point is still there
};

}  // namespace hvr::hyperv
