// Replica side: a VM realised from the primary's exported configuration with the replica's disks, a
// test VM with its network disconnected, start/stop, and the guest's failover TCP/IP settings.
#include <algorithm>
#include <cctype>

#include "hyperv/host.h"
#include "hyperv/rct_match.h"
#include "hyperv/wmi_errors.h"

namespace hvr::hyperv {
namespace {

std::string NormalizeMac(const std::string& mac) {
  std::string out;
  for (char c : mac) {
    if (std::isxdigit(static_cast<unsigned char>(c))) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

NativeError WithNote(const NativeError& error, const std::string& note) {
  return NativeError(error.code(), std::string(error.what()) + note, error.os_errno(), error.syscall());
}

// Msvm_GuestNetworkAdapterConfiguration.ProtocolIFType: 4096 IPv4, 4097 IPv6, 4098 both. The guest's
// KVP daemon configures only the families this names.
int64_t ProtocolIfType(const std::vector<std::string>& addresses) {
  bool v4 = false;
  bool v6 = false;
  for (const std::string& a : addresses) {
    if (a.find(':') != std::string::npos) {
      v6 = true;
    } else {
      v4 = true;
    }
  }
  if (v4 && v6) return 4098;
  return v6 ? 4097 : 4096;
}

}  // namespace

VmSummary HyperVHost::RealizeReplicaVm(const RealizeOptions& options) {
  if (options.definition_file.empty()) {
    throw NativeError(codes::kInvalidArgument, "the exported VM configuration file (.vmcx) is required");
  }
  WmiObject service = Service("Msvm_VirtualSystemManagementService");
  WmiParams in;
  in["SystemDefinitionFile"] = WmiValue::Str(options.definition_file);
  in["SnapshotFolder"] = WmiValue::Str(options.snapshot_folder);
  in["GenerateNewSystemIdentifier"] = WmiValue::Bool(options.generate_new_id);
  MethodResult imported = Invoke(service.path, "ImportSystemDefinition", std::move(in), "import VM configuration",
                                 options.definition_file);
  WmiObject planned = ResultingObject(wmi_, imported, "ImportedSystem", "Msvm_PlannedComputerSystem",
                                      "import VM configuration", options.definition_file);
  const std::string name = planned.String("ElementName", options.definition_file);

  // From here a planned VM exists in Hyper-V; any failure removes it so that a retry can import again
  // (a second import of the same id fails while the first planned VM exists).
  try {
    WmiObject settings = SettingsOf(planned);
    std::vector<std::string> changed;
    std::vector<std::string> unmapped;
    for (const WmiObject& rasd : Components(settings, "Msvm_StorageAllocationSettingData")) {
      if (rasd.Int("ResourceType") != 31 || rasd.String("ResourceSubType") != "Microsoft:Hyper-V:Virtual Hard Disk") {
        continue;
      }
      std::string key = DeviceKey(rasd.String("InstanceID"));
      auto it = std::find_if(options.disks.begin(), options.disks.end(),
                             [&](const ReplicaDisk& d) { return DeviceKey(d.device_key) == key; });
      if (it == options.disks.end()) {
        unmapped.push_back(key);
        continue;
      }
      WmiParams props;
      props["HostResource"] = WmiValue::Strs({it->path});
      changed.push_back(wmi_.EmbedInstance(rasd.path, props));
    }
    if (!unmapped.empty()) {
      std::string list;
      for (const std::string& k : unmapped) list += (list.empty() ? "" : ", ") + k;
      throw NativeError(codes::kNotFound, "the configuration of '" + name + "' has disks with no replica disk (" +
                                              list + "); replicate every disk of the VM or exclude it on the primary");
    }
    if (changed.size() != options.disks.size()) {
      throw NativeError(codes::kInvalidArgument,
                        std::to_string(options.disks.size()) + " replica disks were given but the configuration of '" +
                            name + "' has " + std::to_string(changed.size()) + " virtual hard disks");
    }
    if (options.disconnect_network) {
      // A test VM must not answer on the production network with the primary's addresses.
      for (const WmiObject& alloc : Components(settings, "Msvm_EthernetPortAllocationSettingData")) {
        WmiParams props;
        props["EnabledState"] = WmiValue::Int(3);
        changed.push_back(wmi_.EmbedInstance(alloc.path, props));
      }
    }
    if (!changed.empty()) {
      WmiParams modify;
      modify["ResourceSettings"] = WmiValue::Strs(changed);
      Invoke(service.path, "ModifyResourceSettings", std::move(modify), "point the replica VM at its disks", name);
    }
    if (!options.new_name.empty()) {
      WmiParams props;
      props["ElementName"] = WmiValue::Str(options.new_name);
      WmiParams modify;
      modify["SystemSettings"] = WmiValue::Str(wmi_.EmbedInstance(settings.path, props));
      Invoke(service.path, "ModifySystemSettings", std::move(modify), "rename the replica VM", name);
    }
    WmiParams validate;
    validate["PlannedSystem"] = WmiValue::Str(planned.path);
    Invoke(service.path, "ValidatePlannedSystem", std::move(validate), "validate the replica VM", name);
    WmiParams realize;
    realize["PlannedSystem"] = WmiValue::Str(planned.path);
    MethodResult realized = Invoke(service.path, "RealizePlannedSystem", std::move(realize), "realize the replica VM", name);
    WmiObject vm = ResultingObject(wmi_, realized, "ResultingSystem", "Msvm_ComputerSystem", "realize the replica VM", name);
    VmSummary out;
    out.id = vm.String("Name");
    out.name = vm.String("ElementName");
    out.enabled_state = vm.Int("EnabledState");
    out.state = VmStateName(out.enabled_state);
    return out;
  } catch (const NativeError& e) {
    std::string note;
    try {
      WmiParams destroy;
      destroy["AffectedSystem"] = WmiValue::Str(planned.path);
      Invoke(service.path, "DestroySystem", std::move(destroy), "remove the planned VM", name);
      note = " (the planned VM was removed)";
    } catch (const NativeError& cleanup) {
      note = std::string(" (removing the planned VM also failed: ") + cleanup.what() +
             "; find it with Get-CimInstance -Namespace root/virtualization/v2 Msvm_PlannedComputerSystem and "
             "remove it with Invoke-CimMethod on Msvm_VirtualSystemManagementService DestroySystem)";
    }
    throw WithNote(e, note);
  }
}

void HyperVHost::SetVmState(const std::string& vm_id, VmStateRequest request) {
  WmiObject vm = FindVm(vm_id);
  const std::string name = vm.String("ElementName", vm_id);
  if (request == VmStateRequest::kShutdown) {
    // A clean guest shutdown goes through the shutdown integration component, not RequestStateChange.
    std::vector<WmiObject> sc = wmi_.Query("ASSOCIATORS OF {" + vm.path +
                                           "} WHERE AssocClass=Msvm_SystemDevice ResultClass=Msvm_ShutdownComponent");
    if (sc.empty()) {
      throw NativeError(codes::kNotSupported, "virtual machine '" + name +
                                                  "' has no shutdown integration service running; turn it off instead");
    }
    WmiParams in;
    in["Force"] = WmiValue::Bool(true);
    in["Reason"] = WmiValue::Str("hvreplica planned failover");
    Invoke(sc.front().path, "InitiateShutdown", std::move(in), "shut down the guest", name);
    return;
  }
  const int64_t wanted = request == VmStateRequest::kStart ? 2 : 3;
  if (vm.Int("EnabledState") == wanted) return;
  WmiParams in;
  in["RequestedState"] = WmiValue::Int(wanted);
  Invoke(vm.path, "RequestStateChange", std::move(in),
         request == VmStateRequest::kStart ? "start the VM" : "turn off the VM", name);
}

void HyperVHost::DestroyVm(const std::string& vm_id) {
  WmiObject vm = FindVm(vm_id);
  if (vm.Int("EnabledState") != 3) {
    throw NativeError(hvcodes::kInvalidState, "virtual machine '" + vm.String("ElementName", vm_id) +
                                                  "' is " + VmStateName(vm.Int("EnabledState")) +
                                                  "; turn it off before removing it");
  }
  WmiObject service = Service("Msvm_VirtualSystemManagementService");
  WmiParams in;
  in["AffectedSystem"] = WmiValue::Str(vm.path);
  Invoke(service.path, "DestroySystem", std::move(in), "remove the VM", vm.String("ElementName", vm_id));
}

void HyperVHost::SetGuestNetwork(const std::string& vm_id, const std::vector<GuestNetworkSettings>& adapters) {
  WmiObject vm = FindVm(vm_id);
  const std::string name = vm.String("ElementName", vm_id);
  WmiObject settings = SettingsOf(vm);
  std::vector<WmiObject> ports = Components(settings, "Msvm_SyntheticEthernetPortSettingData");
  std::vector<std::string> configs;
  for (const GuestNetworkSettings& want : adapters) {
    auto port = std::find_if(ports.begin(), ports.end(), [&](const WmiObject& p) {
      return NormalizeMac(p.String("Address")) == NormalizeMac(want.mac_address);
    });
    if (port == ports.end()) {
      throw NativeError(codes::kNotFound, "virtual machine '" + name + "' has no synthetic network adapter with MAC " +
                                              want.mac_address + " (failover addresses need synthetic adapters)");
    }
    if (!want.dhcp && want.ip_addresses.size() != want.subnets.size()) {
      throw NativeError(codes::kInvalidArgument, "each failover IP address of adapter " + want.mac_address +
                                                     " needs its subnet (" + std::to_string(want.ip_addresses.size()) +
                                                     " addresses, " + std::to_string(want.subnets.size()) + " subnets)");
    }
    std::vector<WmiObject> current = wmi_.Query("ASSOCIATORS OF {" + port->path +
                                                "} WHERE AssocClass=Msvm_SettingDataComponent "
                                                "ResultClass=Msvm_GuestNetworkAdapterConfiguration");
    if (current.empty()) {
      throw NativeError(codes::kNotSupported, "Hyper-V has no guest network configuration for adapter " +
                                                  want.mac_address + " of '" + name +
                                                  "'; the guest needs current integration services (KVP exchange)");
    }
    WmiParams props;
    props["DHCPEnabled"] = WmiValue::Bool(want.dhcp);
    props["ProtocolIFType"] = WmiValue::Int(want.dhcp ? 4096 : ProtocolIfType(want.ip_addresses));
    props["IPAddresses"] = WmiValue::Strs(want.dhcp ? std::vector<std::string>{} : want.ip_addresses);
    props["Subnets"] = WmiValue::Strs(want.dhcp ? std::vector<std::string>{} : want.subnets);
    props["DefaultGateways"] = WmiValue::Strs(want.dhcp ? std::vector<std::string>{} : want.gateways);
    props["DNSServers"] = WmiValue::Strs(want.dhcp ? std::vector<std::string>{} : want.dns_servers);
    configs.push_back(wmi_.EmbedInstance(current.front().path, props));
  }
  if (configs.empty()) return;
  WmiObject service = Service("Msvm_VirtualSystemManagementService");
  WmiParams in;
  in["ComputerSystem"] = WmiValue::Str(vm.path);
  in["NetworkConfiguration"] = WmiValue::Strs(configs);
  Invoke(service.path, "SetGuestNetworkAdapterConfiguration", std::move(in), "set the failover TCP/IP settings", name);
}

void HyperVHost::SetVmDisks(const std::string& vm_id, const std::vector<ReplicaDisk>& disks) {
  WmiObject vm = FindVm(vm_id);
  const std::string name = vm.String("ElementName", vm_id);
  if (vm.Int("EnabledState") != 3) {
    throw NativeError(hvcodes::kInvalidState, "virtual machine '" + name + "' is " + VmStateName(vm.Int("EnabledState")) +
                                                  "; turn it off before replacing its disks");
  }
  // A checkpoint's differencing disks have the old files as parents; re-pointing the drives under them
  // would leave checkpoints that no longer apply to the VM.
  if (!RecoverySnapshotIds(vm).empty()) {
    throw NativeError(hvcodes::kInvalidState, "virtual machine '" + name +
                                                  "' has checkpoints; remove them (Get-VMSnapshot -VMName '" + name +
                                                  "' | Remove-VMSnapshot) before replacing its disks");
  }
  WmiObject settings = SettingsOf(vm);
  std::vector<WmiObject> drives;
  for (const WmiObject& rasd : Components(settings, "Msvm_StorageAllocationSettingData")) {
    if (rasd.Int("ResourceType") == 31 && rasd.String("ResourceSubType") == "Microsoft:Hyper-V:Virtual Hard Disk") {
      drives.push_back(rasd);
    }
  }
  std::vector<std::string> changed;
  for (const ReplicaDisk& want : disks) {
    const std::string key = DeviceKey(want.device_key);
    auto drive = std::find_if(drives.begin(), drives.end(),
                              [&](const WmiObject& rasd) { return DeviceKey(rasd.String("InstanceID")) == key; });
    if (drive == drives.end()) {
      throw NativeError(codes::kNotFound, "virtual machine '" + name + "' has no virtual hard disk at " + key +
                                              " (Get-VMHardDiskDrive -VMName '" + name + "' lists its drives)");
    }
    if (want.path.empty()) {
      throw NativeError(codes::kInvalidArgument, "no file given for the disk at " + key + " of '" + name + "'");
    }
    // The guest must find the same disk size behind the drive; Hyper-V reads both files' headers.
    DiskInfo now;
    now.path = drive->Strings("HostResource").empty() ? std::string() : drive->Strings("HostResource").front();
    DiskInfo next;
    next.path = want.path;
    ReadDiskGeometry(next);
    if (!now.path.empty()) {
      ReadDiskGeometry(now);
      if (now.virtual_size != next.virtual_size || now.logical_sector_size != next.logical_sector_size) {
        throw NativeError(codes::kInvalidArgument,
                          "disk file '" + want.path + "' is " + std::to_string(next.virtual_size) + " bytes with " +
                              std::to_string(next.logical_sector_size) + "-byte sectors, but the disk at " + key +
                              " of '" + name + "' is " + std::to_string(now.virtual_size) + " bytes with " +
                              std::to_string(now.logical_sector_size) + "-byte sectors");
      }
    }
    WmiParams props;
    props["HostResource"] = WmiValue::Strs({want.path});
    changed.push_back(wmi_.EmbedInstance(drive->path, props));
  }
  if (changed.empty()) return;
  WmiObject service = Service("Msvm_VirtualSystemManagementService");
  WmiParams modify;
  modify["ResourceSettings"] = WmiValue::Strs(changed);
  Invoke(service.path, "ModifyResourceSettings", std::move(modify), "point the VM's drives at other disk files", name);
}

}  // namespace hvr::hyperv
