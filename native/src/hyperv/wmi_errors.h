// Turns what Hyper-V's WMI provider reports (WBEM_E_* HRESULTs, Msvm method return values, job error
// codes) into NativeError with the Windows code and a message an administrator can act on. Portable,
// so the same text is produced by the real service and by the fakes the tests use.
#pragma once

#include <cstdint>
#include <string>

#include "core/native_error.h"

namespace hvr::hyperv {

// Codes beyond core/native_error.h that Hyper-V operations produce (stable, shared with TypeScript).
namespace hvcodes {
inline constexpr const char* kTimeout = "ERR_TIMEOUT";
inline constexpr const char* kInvalidState = "ERR_INVALID_STATE";
inline constexpr const char* kHyperVJobFailed = "ERR_HYPERV_JOB_FAILED";
inline constexpr const char* kHyperVUnavailable = "ERR_HYPERV_UNAVAILABLE";
}  // namespace hvcodes

// Msvm method return values (the Hyper-V v2 method pages list the same table for every method).
inline constexpr uint32_t kReturnOk = 0;
inline constexpr uint32_t kReturnJobStarted = 4096;

// True for HRESULTs of FACILITY_ITF 0x8004_1xxx, the WBEM_E_* family.
bool IsWbemError(uint32_t hr);

// The error for a failed WMI call (ConnectServer, ExecQuery, GetObject, ExecMethod). `call` names the
// WMI call, `subject` the object or query; `system_text` is FormatMessage's text when there is one.
NativeError WbemError(uint32_t hr, const std::string& call, const std::string& subject,
                      const std::string& system_text = {});

// The name of an Msvm method return value ("Invalid state for this operation"), or "" when unknown.
const char* MethodReturnName(uint32_t value);

// The error for a method whose ReturnValue was neither 0 nor 4096.
NativeError MethodError(uint32_t return_value, const std::string& operation, const std::string& subject);

// The error for a job that ended in a state other than Completed. `job_state` is CIM_ConcreteJob's
// JobState, `error_code` its ErrorCode, `description` its ErrorDescription (may be empty).
NativeError JobError(int64_t job_state, int64_t error_code, const std::string& description,
                     const std::string& operation, const std::string& subject);

const char* JobStateName(int64_t job_state);

}  // namespace hvr::hyperv
