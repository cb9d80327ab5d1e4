#include "hyperv/wmi_errors.h"

#include <cstdio>

namespace hvr::hyperv {
namespace {

std::string Hex(uint32_t value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(value));
  return buf;
}

struct WbemInfo {
  uint32_t hr;
  const char* name;
  const char* code;
  const char* advice;
};

// Only the errors the Hyper-V provider is known to return, each with what the administrator can do.
constexpr WbemInfo kWbem[] = {
    {0x80041001, "WBEM_E_FAILED", codes::kOsError,
     "the Hyper-V WMI provider failed; check the Microsoft-Windows-Hyper-V-VMMS-Admin event log"},
    {0x80041002, "WBEM_E_NOT_FOUND", codes::kNotFound,
     "the object no longer exists (the VM, checkpoint or reference point was removed meanwhile)"},
    {0x80041003, "WBEM_E_ACCESS_DENIED", codes::kAccessDenied,
     "run hvreplica elevated, as a member of Administrators or Hyper-V Administrators"},
    {0x80041005, "WBEM_E_TYPE_MISMATCH", codes::kInvalidArgument,
     "a parameter had the wrong type for this Hyper-V version; report this with the log file"},
    {0x80041006, "WBEM_E_OUT_OF_MEMORY", codes::kOsError, "the host is out of memory"},
    {0x80041008, "WBEM_E_INVALID_PARAMETER", codes::kInvalidArgument,
     "Hyper-V refused a parameter; check the VM name, id and paths given"},
    {0x8004100C, "WBEM_E_NOT_SUPPORTED", codes::kNotSupported,
     "this Hyper-V version does not support the operation (recovery checkpoints and reference points "
     "need Windows Server 2016 or later)"},
    {0x8004100E, "WBEM_E_INVALID_NAMESPACE", hvcodes::kHyperVUnavailable,
     "the namespace root\\virtualization\\v2 does not exist: install the Hyper-V role and its management "
     "tools (Install-WindowsFeature Hyper-V -IncludeManagementTools) and restart"},
    {0x80041010, "WBEM_E_INVALID_CLASS", codes::kNotSupported,
     "the Hyper-V WMI class is missing: this Windows version is too old or the Hyper-V role is incomplete"},
    {0x80041013, "WBEM_E_PROVIDER_LOAD_FAILURE", hvcodes::kHyperVUnavailable,
     "the Hyper-V WMI provider could not load; check that the Hyper-V Virtual Machine Management "
     "service (vmms) is running"},
    {0x80041017, "WBEM_E_INVALID_QUERY", codes::kInvalidArgument,
     "WMI refused the query; report this with the log file"},
    {0x8004102E, "WBEM_E_INVALID_METHOD", codes::kNotSupported,
     "this Hyper-V version lacks the method; Windows Server 2016 or later is needed"},
    {0x8004102F, "WBEM_E_INVALID_METHOD_PARAMETERS", codes::kInvalidArgument,
     "Hyper-V refused the method parameters for this Windows version; report this with the log file"},
    {0x80041032, "WBEM_E_CALL_CANCELLED", hvcodes::kHyperVUnavailable, "the WMI call was cancelled; retry"},
    {0x80041033, "WBEM_E_SHUTTING_DOWN", hvcodes::kHyperVUnavailable,
     "the WMI service is shutting down; retry once the host is up"},
    {0x80043001, "WBEM_E_TIMED_OUT", hvcodes::kTimeout, "WMI did not answer in time; retry"},
};

}  // namespace

bool IsWbemError(uint32_t hr) { return (hr & 0xFFFFF000u) == 0x80041000u || (hr & 0xFFFFF000u) == 0x80042000u ||
                                        (hr & 0xFFFFF000u) == 0x80043000u; }

NativeError WbemError(uint32_t hr, const std::string& call, const std::string& subject,
                      const std::string& system_text) {
  std::string message = call + " failed";
  if (!subject.empty()) message += " for '" + subject + "'";
  for (const WbemInfo& info : kWbem) {
    if (info.hr == hr) {
      message += ": " + std::string(info.name) + " (" + Hex(hr) + "): " + info.advice;
      return NativeError(info.code, message, static_cast<int>(hr), call);
    }
  }
  message += ": " + (system_text.empty() ? std::string("WMI error") : system_text) + " (" + Hex(hr) + ")";
  if (hr == 0x800706BAu) {
    message += ": the RPC server is unavailable; check that the Windows Management Instrumentation service runs";
    return NativeError(hvcodes::kHyperVUnavailable, message, static_cast<int>(hr), call);
  }
  if (hr == 0x80070005u) {
    message += ": run hvreplica elevated, as a member of Administrators or Hyper-V Administrators";
    return NativeError(codes::kAccessDenied, message, static_cast<int>(hr), call);
  }
  return NativeError(codes::kOsError, message, static_cast<int>(hr), call);
}

const char* MethodReturnName(uint32_t value) {
  switch (value) {
    case 0: return "Completed with no error";
    case 4096: return "Job started";
    case 32768: return "Failed";
    case 32769: return "Access denied";
    case 32770: return "Not supported";
    case 32771: return "Status is unknown";
    case 32772: return "Timeout";
    case 32773: return "Invalid parameter";
    case 32774: return "System is in use";
    case 32775: return "Invalid state for this operation";
    case 32776: return "Incorrect data type";
    case 32777: return "System is not available";
    case 32778: return "Out of memory";
    case 32779: return "File not found";
    default: return "";
  }
}

namespace {

const char* CodeForMethodValue(uint32_t value) {
  switch (value) {
    case 32769: return codes::kAccessDenied;
    case 32770: return codes::kNotSupported;
    case 32772: return hvcodes::kTimeout;
    case 32773:
    case 32776: return codes::kInvalidArgument;
    case 32774:
    case 32775: return hvcodes::kInvalidState;
    case 32777: return hvcodes::kHyperVUnavailable;
    case 32779: return codes::kNotFound;
    default: return hvcodes::kHyperVJobFailed;
  }
}

const char* AdviceForMethodValue(uint32_t value) {
  switch (value) {
    case 32769: return "run hvreplica elevated, as a member of Administrators or Hyper-V Administrators";
    case 32770: return "this VM or host does not support it (check the VM configuration version with Get-VM)";
    case 32772: return "Hyper-V timed out; retry when the host is less busy";
    case 32773: return "Hyper-V refused a parameter; check names and paths";
    case 32774: return "another operation holds the VM (a backup, migration or checkpoint merge); retry later";
    case 32775: return "the VM is not in a state that allows this (check Get-VM NAME | Format-List State,Status)";
    case 32777: return "the VM or host is not available";
    case 32778: return "the host is out of memory";
    case 32779: return "a file Hyper-V needs is missing; check the paths";
    default: return "see the Microsoft-Windows-Hyper-V-VMMS-Admin event log on this host for the cause";
  }
}

}  // namespace

NativeError MethodError(uint32_t return_value, const std::string& operation, const std::string& subject) {
  std::string name = MethodReturnName(return_value);
  std::string message = operation + " failed";
  if (!subject.empty()) message += " for '" + subject + "'";
  message += ": Hyper-V returned " + std::to_string(return_value);
  if (!name.empty()) message += " (" + name + ")";
  message += ": ";
  message += AdviceForMethodValue(return_value);
  return NativeError(CodeForMethodValue(return_value), message, static_cast<int>(return_value), operation);
}

const char* JobStateName(int64_t job_state) {
  switch (job_state) {
    case 2: return "New";
    case 3: return "Starting";
    case 4: return "Running";
    case 5: return "Suspended";
    case 6: return "Shutting Down";
    case 7: return "Completed";
    case 8: return "Terminated";
    case 9: return "Killed";
    case 10: return "Exception";
    case 11: return "Service";
    default: return "Unknown";
  }
}

NativeError JobError(int64_t job_state, int64_t error_code, const std::string& description,
                     const std::string& operation, const std::string& subject) {
  std::string message = operation + " failed";
  if (!subject.empty()) message += " for '" + subject + "'";
  message += ": the Hyper-V job ended in state " + std::string(JobStateName(job_state)) + " (" +
             std::to_string(job_state) + ")";
  uint32_t code = static_cast<uint32_t>(error_code);
  if (error_code != 0) {
    message += " with error " + std::to_string(error_code);
    std::string name = MethodReturnName(code);
    if (!name.empty()) message += " (" + name + ")";
  }
  if (!description.empty()) message += ": " + description;
  message += ". ";
  message += AdviceForMethodValue(code);
  const char* native_code = error_code != 0 ? CodeForMethodValue(code) : hvcodes::kHyperVJobFailed;
  return NativeError(native_code, message, static_cast<int>(error_code), operation);
}

}  // namespace hvr::hyperv
