#include "hyperv/wmi_job.h"

#include "hyperv/wmi_errors.h"

namespace hvr::hyperv {
namespace {

constexpr int64_t kJobCompleted = 7;

// CIM_ConcreteJob states in which the job is still doing (or about to do) its work.
bool StillRunning(int64_t state) { return state == 2 || state == 3 || state == 4 || state == 5 || state == 6; }

void TryTerminate(WmiService& wmi, const std::string& job_path) {
  try {
    WmiParams in;
    in["RequestedState"] = WmiValue::Int(4);  // Terminate
    wmi.ExecMethod(job_path, "RequestStateChange", in);
  } catch (...) {
    // The timeout is what the caller must hear about; a job that refuses to terminate is logged by
    // Hyper-V itself.
  }
}

}  // namespace

MethodResult InvokeAndWait(WmiService& wmi, Clock& clock, const MethodCall& call, const JobTimeouts& timeouts) {
  MethodResult result;
  result.out = wmi.ExecMethod(call.path, call.method, call.in);
  int64_t rv = result.out.Int("ReturnValue", -1);
  if (rv == kReturnOk) return result;
  if (rv != kReturnJobStarted) throw MethodError(static_cast<uint32_t>(rv), call.operation, call.subject);

  result.job_path = result.out.String("Job");
  if (result.job_path.empty()) {
    throw NativeError(hvcodes::kHyperVJobFailed, call.operation + " for '" + call.subject +
                                                     "': Hyper-V started a job but returned no job reference");
  }
  const uint64_t start = clock.NowMs();
  for (;;) {
    WmiObject job = wmi.GetObject(result.job_path);
    int64_t state = job.Int("JobState", 0);
    if (state == kJobCompleted) return result;
    if (!StillRunning(state)) {
      throw JobError(state, job.Int("ErrorCode", 0), job.String("ErrorDescription"), call.operation, call.subject);
    }
    uint64_t elapsed = clock.NowMs() - start;
    if (elapsed >= timeouts.job_timeout_ms) {
      TryTerminate(wmi, result.job_path);
      throw NativeError(hvcodes::kTimeout,
                        call.operation + " for '" + call.subject + "' did not finish within " +
                            std::to_string(timeouts.job_timeout_ms / 1000) + " s (job state " +
                            JobStateName(state) + ", " + std::to_string(job.Int("PercentComplete", 0)) +
                            "% complete); hvreplica asked Hyper-V to terminate the job. Raise the timeout "
                            "if the host is busy, or check the VM in Hyper-V Manager",
                        0, call.method);
    }
    uint64_t left = timeouts.job_timeout_ms - elapsed;
    clock.SleepMs(timeouts.poll_interval_ms < left ? timeouts.poll_interval_ms : left);
  }
}

WmiObject ResultingObject(WmiService& wmi, const MethodResult& result, const std::string& ref_name,
                          const std::string& result_class, const std::string& operation,
                          const std::string& subject) {
  std::string path = result.out.String(ref_name);
  if (!path.empty()) return wmi.GetObject(path);
  if (!result.job_path.empty()) {
    std::vector<WmiObject> found = wmi.Query("ASSOCIATORS OF {" + result.job_path +
                                             "} WHERE AssocClass=Msvm_AffectedJobElement ResultClass=" + result_class);
    if (found.size() == 1) return found.front();
  }
  throw NativeError(hvcodes::kHyperVJobFailed, operation + " for '" + subject + "' succeeded but Hyper-V named no " +
                                                   result_class + " as its result");
}

}  // namespace hvr::hyperv
