// Calls an Msvm method and, when it answers 4096 (job started), polls the job until it completes,
// fails or runs past its deadline. Every Hyper-V operation goes through here, so timeouts and error
// text are the same everywhere.
#pragma once

#include <cstdint>
#include <string>

#include "hyperv/wmi.h"

namespace hvr::hyperv {

struct JobTimeouts {
  // How long one job may run. Checkpoint creation of a busy VM with VSS in the guest can take
  // minutes; the caller passes its own limits.
  uint64_t job_timeout_ms = 10 * 60 * 1000;
  uint64_t poll_interval_ms = 500;
};

struct MethodCall {
  std::string path;       // object or service path
  std::string method;     // e.g. "CreateSnapshot"
  WmiParams in;
  std::string operation;  // what the administrator reads: "create recovery checkpoint"
  std::string subject;    // the VM name or id, the checkpoint path
};

struct MethodResult {
  WmiObject out;         // out-parameters of the method
  std::string job_path;  // empty when the method completed synchronously
};

// Throws NativeError (MethodError, JobError, ERR_TIMEOUT) on failure. On timeout it asks Hyper-V to
// terminate the job (best effort) so that nothing keeps running unobserved.
MethodResult InvokeAndWait(WmiService& wmi, Clock& clock, const MethodCall& call, const JobTimeouts& timeouts);

// The object a method created: its out-parameter `ref_name` when set, else the object of
// `result_class` that the job is associated with (CIM_AffectedJobElement), as Microsoft's samples do
// when the reference comes back empty. Throws ERR_HYPERV_JOB_FAILED naming what is missing.
WmiObject ResultingObject(WmiService& wmi, const MethodResult& result, const std::string& ref_name,
                          const std::string& result_class, const std::string& operation,
                          const std::string& subject);

}  // namespace hvr::hyperv
