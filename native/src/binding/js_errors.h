// Turns hvr::NativeError (and anything else thrown by the core) into an instance of the TypeScript
// NativeError class that src/native/binding.ts hands to the addon with JS_setErrorClass.
#pragma once

#include <napi.h>

#include <exception>

#include "core/native_error.h"

namespace hvr::binding {

Napi::Value ToJsError(Napi::Env env, const NativeError& error);
// For exceptions that escape the core without being NativeError: an internal error, never a crash.
NativeError FromException(std::exception_ptr error);

// Throws a TypeError with a terse usage line; TypeScript validates arguments before calling, so this
// only guards against misuse of the raw binding.
[[noreturn]] void ThrowUsage(Napi::Env env, const char* usage);

void SetErrorClass(Napi::Env env, Napi::Function ctor);

}  // namespace hvr::binding
