// VM inventory and the WMI navigation every other part uses.
#include <cstdlib>

#include "hyperv/host.h"
#include "hyperv/rct_match.h"
#include "hyperv/wmi_errors.h"

namespace hvr::hyperv {

const char* ConsistencyName(Consistency c) { return c == Consistency::kApplication ? "application" : "crash"; }

const char* VmStateName(int64_t enabled_state) {
  switch (enabled_state) {
    case 2: return "running";
    case 3: return "off";
    case 6: return "saved";
    case 9:
    case 32768: return "paused";
    case 10:
    case 32770: return "starting";
    case 4:
    case 32774: return "stopping";
    case 32773: return "saving";
    case 32771: return "checkpointing";
    default: return "other";
  }
}

bool ConfigurationVersionAtLeast(const std::string& version, int major, int minor) {
  char* end = nullptr;
  long have_major = std::strtol(version.c_str(), &end, 10);
  long have_minor = 0;
  if (end != nullptr && *end == '.') have_minor = std::strtol(end + 1, nullptr, 10);
  return have_major > major || (have_major == major && have_minor >= minor);
}

namespace {

// WMI object paths escape backslashes in key values; the InstanceID inside a Parent reference is
// compared unescaped.
std::string Unescape(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    out += path[i];
    if (path[i] == '\\' && i + 1 < path.size() && path[i + 1] == '\\') ++i;
  }
  return out;
}

bool IsVirtualHardDisk(const WmiObject& rasd) {
  return rasd.Int("ResourceType") == 31 && rasd.String("ResourceSubType") == "Microsoft:Hyper-V:Virtual Hard Disk";
}

}  // namespace

MethodResult HyperVHost::Invoke(const std::string& path, const std::string& method, WmiParams in,
                                const std::string& operation, const std::string& subject) {
  MethodCall call{path, method, std::move(in), operation, subject};
  return InvokeAndWait(wmi_, clock_, call, timeouts_);
}

WmiObject HyperVHost::FindVm(const std::string& vm_id) {
  RequireGuid(vm_id, "VM id");
  std::vector<WmiObject> found =
      wmi_.Query("SELECT * FROM Msvm_ComputerSystem WHERE Name=" + WqlLiteral(vm_id));
  if (found.empty()) {
    throw NativeError(codes::kNotFound, "no virtual machine with id " + vm_id +
                                            " exists on this host (Get-VM | Format-Table Name,Id lists them)");
  }
  return found.front();
}

WmiObject HyperVHost::Service(const char* class_name) {
  std::vector<WmiObject> found = wmi_.Query(std::string("SELECT * FROM ") + class_name);
  if (found.empty()) {
    throw NativeError(hvcodes::kHyperVUnavailable,
                      std::string(class_name) + " is missing: the Hyper-V Virtual Machine Management service "
                                                "(vmms) is not running or the Hyper-V role is not installed");
  }
  return found.front();
}

WmiObject HyperVHost::SettingsOf(const WmiObject& system) {
  std::vector<WmiObject> found = wmi_.Query("ASSOCIATORS OF {" + system.path +
                                            "} WHERE AssocClass=Msvm_SettingsDefineState "
                                            "ResultClass=Msvm_VirtualSystemSettingData");
  if (found.empty()) {
    throw NativeError(codes::kNotFound, "the settings of virtual machine '" + system.String("ElementName") +
                                            "' could not be read; it may have been removed meanwhile");
  }
  return found.front();
}

std::vector<WmiObject> HyperVHost::Components(const WmiObject& settings, const char* result_class) {
  return wmi_.Query("ASSOCIATORS OF {" + settings.path +
                    "} WHERE AssocClass=Msvm_VirtualSystemSettingDataComponent ResultClass=" + result_class);
}

std::vector<DiskInfo> HyperVHost::DisksOf(const WmiObject& settings) {
  std::vector<DiskInfo> disks;
  for (const WmiObject& rasd : Components(settings, "Msvm_StorageAllocationSettingData")) {
    if (!IsVirtualHardDisk(rasd)) continue;
    std::vector<std::string> host = rasd.Strings("HostResource");
    DiskInfo disk;
    disk.instance_id = rasd.String("InstanceID");
    disk.device_key = DeviceKey(disk.instance_id);
    disk.path = host.empty() ? std::string() : host.front();
    disks.push_back(std::move(disk));
  }
  return disks;
}

std::vector<VmSummary> HyperVHost::ListVms() {
  std::vector<VmSummary> vms;
  // The host itself is an Msvm_ComputerSystem too; its Caption is "Hosting Computer System".
  for (const WmiObject& vm : wmi_.Query("SELECT * FROM Msvm_ComputerSystem WHERE Caption='Virtual Machine'")) {
    VmSummary s;
    s.id = vm.String("Name");
    s.name = vm.String("ElementName");
    s.enabled_state = vm.Int("EnabledState");
    s.state = VmStateName(s.enabled_state);
    vms.push_back(std::move(s));
  }
  return vms;
}

VmInfo HyperVHost::DescribeVm(const std::string& vm_id) {
  WmiObject vm = FindVm(vm_id);
  WmiObject settings = SettingsOf(vm);
  VmInfo info;
  info.summary.id = vm.String("Name");
  info.summary.name = vm.String("ElementName");
  info.summary.enabled_state = vm.Int("EnabledState");
  info.summary.state = VmStateName(info.summary.enabled_state);
  std::string subtype = settings.String("VirtualSystemSubType");
  info.generation = subtype == "Microsoft:Hyper-V:SubType:2" ? 2 : 1;
  info.configuration_version = settings.String("Version");
  info.rct_supported = ConfigurationVersionAtLeast(info.configuration_version, 6, 2);
  if (info.rct_supported) {
    info.change_tracking = "rct";
  } else {
    info.change_tracking = "checkpoint";
    info.change_tracking_note =
        "VM '" + info.summary.name + "' has configuration version " +
        (info.configuration_version.empty() ? std::string("unknown") : info.configuration_version) +
        "; Resilient Change Tracking needs 6.2 or later, so hvreplica tracks its changes with standard "
        "checkpoints instead. Run Update-VMVersion -Name '" + info.summary.name +
        "' while the VM is off to use RCT (the VM can then no longer move to older hosts).";
  }
  for (const WmiObject& p : Components(settings, "Msvm_ProcessorSettingData")) info.processors = p.Int("VirtualQuantity");
  for (const WmiObject& m : Components(settings, "Msvm_MemorySettingData")) {
    info.memory_mb = m.Int("VirtualQuantity");
    info.dynamic_memory = m.Bool("DynamicMemoryEnabled");
  }
  std::vector<WmiObject> allocations = Components(settings, "Msvm_EthernetPortAllocationSettingData");
  for (const char* port_class : {"Msvm_SyntheticEthernetPortSettingData", "Msvm_EmulatedEthernetPortSettingData"}) {
    for (const WmiObject& port : Components(settings, port_class)) {
      NetworkAdapterInfo nic;
      nic.name = port.String("ElementName");
      nic.instance_id = port.String("InstanceID");
      nic.mac_address = port.String("Address");
      nic.static_mac = port.Bool("StaticMacAddress");
      for (const WmiObject& alloc : allocations) {
        if (Unescape(alloc.String("Parent")).find(nic.instance_id) == std::string::npos) continue;
        std::vector<std::string> host = alloc.Strings("HostResource");
        nic.switch_path = host.empty() ? std::string() : host.front();
        // EnabledState 3 is how Hyper-V records a disconnected adapter.
        nic.connected = !nic.switch_path.empty() && alloc.Int("EnabledState", 2) != 3;
      }
      info.network_adapters.push_back(std::move(nic));
    }
  }
  info.disks = DisksOf(settings);
  for (DiskInfo& disk : info.disks) {
    if (!disk.path.empty()) ReadDiskGeometry(disk);
  }
  return info;
}

}  // namespace hvr::hyperv

namespace hvr::hyperv {

std::string EmbeddedProperty(const std::string& cim_xml, const std::string& name) {
  const std::string marker = "NAME=\"" + name + "\"";
  size_t at = cim_xml.find(marker);
  while (at != std::string::npos) {
    size_t open = cim_xml.rfind('<', at);
    if (open != std::string::npos && cim_xml.compare(open, 9, "<PROPERTY") == 0 &&
        cim_xml.compare(open, 15, "<PROPERTY.ARRAY") != 0) {
      size_t end = cim_xml.find("</PROPERTY>", at);
      size_t value = cim_xml.find("<VALUE>", at);
      if (value == std::string::npos || end == std::string::npos || value > end) return {};
      value += 7;
      size_t close = cim_xml.find("</VALUE>", value);
      if (close == std::string::npos || close > end) return {};
      return cim_xml.substr(value, close - value);
    }
    at = cim_xml.find(marker, at + marker.size());
  }
  return {};
}

void HyperVHost::ReadDiskGeometry(DiskInfo& disk) {
  WmiObject service = Service("Msvm_ImageManagementService");
  WmiParams in;
  in["Path"] = WmiValue::Str(disk.path);
  MethodResult r = Invoke(service.path, "GetVirtualHardDiskSettingData", std::move(in), "read virtual disk settings",
                          disk.path);
  std::string xml = r.out.String("SettingData");
  disk.virtual_size = std::strtoull(EmbeddedProperty(xml, "MaxInternalSize").c_str(), nullptr, 10);
  disk.logical_sector_size =
      static_cast<uint32_t>(std::strtoul(EmbeddedProperty(xml, "LogicalSectorSize").c_str(), nullptr, 10));
  if (disk.virtual_size == 0 || (disk.logical_sector_size != 512 && disk.logical_sector_size != 4096)) {
    throw NativeError(codes::kIo, "Hyper-V reported no usable size for virtual disk '" + disk.path +
                                      "' (MaxInternalSize " + EmbeddedProperty(xml, "MaxInternalSize") +
                                      ", LogicalSectorSize " + EmbeddedProperty(xml, "LogicalSectorSize") +
                                      "); check it with Get-VHD");
  }
}

void HyperVHost::CreateDifferencingDisk(const std::string& path, const std::string& parent_path) {
  WmiObject service = Service("Msvm_ImageManagementService");
  WmiParams settings;
  settings["Type"] = WmiValue::Int(4);    // Differencing
  settings["Format"] = WmiValue::Int(3);  // VHDX
  settings["Path"] = WmiValue::Str(path);
  settings["ParentPath"] = WmiValue::Str(parent_path);
  WmiParams in;
  in["VirtualDiskSettingData"] = WmiValue::Str(wmi_.EmbedInstance("Msvm_VirtualHardDiskSettingData", settings));
  Invoke(service.path, "CreateVirtualHardDisk", std::move(in), "create a differencing disk", path);
}

}  // namespace hvr::hyperv
