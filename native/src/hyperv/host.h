// The Hyper-V operations hvreplica needs, written once over WmiService so the same code runs against
// root\virtualization\v2 on a host and against fakes in tests. Class and method names follow
// Microsoft's Hyper-V WMI v2 reference; the recovery-checkpoint / reference-point cycle follows
// ../shared/reference/windows-apis.md §4.2.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hyperv/model.h"
#include "hyperv/wmi.h"
#include "hyperv/wmi_job.h"

namespace hvr::hyperv {

struct ReplicaDisk {
  std::string device_key;  // DeviceKey() of the primary's disk (controller/slot), see rct_match.h
  std::string path;        // the replica's VHDX for it
};

struct RealizeOptions {
  std::string definition_file;   // .vmcx exported from the primary's checkpoint
  std::string snapshot_folder;   // where Hyper-V may keep checkpoint data of the imported VM
  bool generate_new_id = false;  // true for a test VM beside the replica VM
  std::string new_name;          // ElementName of the realised VM; empty keeps the exported name
  bool disconnect_network = false;
  std::vector<ReplicaDisk> disks;
};

struct GuestNetworkSettings {
  std::string mac_address;  // which adapter (12 hex digits, separators ignored)
  bool dhcp = false;
  // IPv4 and IPv6 addresses may be mixed (Set-VMNetworkAdapterFailoverConfiguration sets both); an IPv4
  // address takes a dotted subnet mask, an IPv6 address its prefix length in decimal ("64").
  std::vector<std::string> ip_addresses;
  std::vector<std::string> subnets;
  std::vector<std::string> gateways;
  std::vector<std::string> dns_servers;
};

enum class VmStateRequest { kStart, kTurnOff, kShutdown };

// Receives what the workflow did but did not throw (fallbacks, cleanup outcomes), for the log.
using WarningSink = std::function<void(const std::string&)>;

class HyperVHost {
 public:
  HyperVHost(WmiService& wmi, Clock& clock, JobTimeouts timeouts, WarningSink warn = {})
      : wmi_(wmi), clock_(clock), timeouts_(timeouts), warn_(std::move(warn)) {}

  // Inventory (inventory.cc).
  std::vector<VmSummary> ListVms();
  VmInfo DescribeVm(const std::string& vm_id);

  // Reference points (reference_points.cc).
  RecoveryCheckpoint CreateRecoveryCheckpoint(const std::string& vm_id, Consistency consistency);
  CommitResult CommitReferencePoint(const std::string& vm_id, const std::string& snapshot_path,
                                    const std::string& previous_reference_point_path);
  void DiscardCheckpoint(const std::string& snapshot_path);
  std::vector<ReferencePoint> ListReferencePoints(const std::string& vm_id);
  void DestroyReferencePoint(const std::string& path);
  // Writes the VM configuration (no disk data) into `directory` for the replica: of the checkpoint at
  // `snapshot_path`, or of the VM itself without its checkpoints when `snapshot_path` is empty.
  void ExportConfiguration(const std::string& vm_id, const std::string& snapshot_path, const std::string& directory);

  // Replica side (replica.cc).
  VmSummary RealizeReplicaVm(const RealizeOptions& options);
  void SetVmState(const std::string& vm_id, VmStateRequest request);
  void DestroyVm(const std::string& vm_id);
  void SetGuestNetwork(const std::string& vm_id, const std::vector<GuestNetworkSettings>& adapters);
  // Points the VM's virtual hard disk drives (matched by device key) at other files. The VM must be off
  // and without checkpoints; the files it used before are left where they are.
  void SetVmDisks(const std::string& vm_id, const std::vector<ReplicaDisk>& disks);
  // A new VHDX differencing disk over `parent_path` (Msvm_ImageManagementService.CreateVirtualHardDisk),
  // so that a test VM writes into its own layer and never into the replica's chain.
  void CreateDifferencingDisk(const std::string& path, const std::string& parent_path);
  // Virtual size and logical sector size of a disk file, as Hyper-V reads them.
  void ReadDiskGeometry(DiskInfo& disk);

 private:
  WmiObject FindVm(const std::string& vm_id);
  WmiObject Service(const char* class_name);
  WmiObject SettingsOf(const WmiObject& system);
  std::vector<WmiObject> Components(const WmiObject& settings, const char* result_class);
  std::vector<DiskInfo> DisksOf(const WmiObject& settings);
  std::vector<std::string> RecoverySnapshotIds(const WmiObject& vm);
  MethodResult Invoke(const std::string& path, const std::string& method, WmiParams in, const std::string& operation,
                      const std::string& subject);
  void Warn(const std::string& message) {
    if (warn_) warn_(message);
  }

  WmiService& wmi_;
  Clock& clock_;
  JobTimeouts timeouts_;
  WarningSink warn_;
};

// "running", "off", … for Msvm_ComputerSystem.EnabledState.
const char* VmStateName(int64_t enabled_state);
// Compares "major.minor" configuration versions; unparsable versions compare as 0.0.
bool ConfigurationVersionAtLeast(const std::string& version, int major, int minor);
// One property of an embedded instance in CIM-DTD 2.0 text (<PROPERTY NAME="x"><VALUE>v</VALUE>), or
// "" when absent; Hyper-V returns Msvm_VirtualHardDiskSettingData in this form.
std::string EmbeddedProperty(const std::string& cim_xml, const std::string& name);

}  // namespace hvr::hyperv
