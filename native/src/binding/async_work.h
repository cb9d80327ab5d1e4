// Runs slow native work on the libuv thread pool and settles a Promise with the result, so the main
// thread never blocks on disk or OS calls.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "binding/js_errors.h"

namespace hvr::binding {

template <typename Result>
class PromiseWorker final : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // `keep_alive` holds JS values (buffers the work reads or fills, handle objects) until the work ends.
  static Napi::Promise Run(Napi::Env env, const char* name, Work work, ToJs to_js,
                           std::vector<Napi::Value> keep_alive = {}) {
    auto* worker = new PromiseWorker(env, name, std::move(work), std::move(to_js), keep_alive);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, const char* name, Work work, ToJs to_js, const std::vector<Napi::Value>& keep_alive)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        to_js_(std::move(to_js)) {
    for (const Napi::Value& value : keep_alive) {
      refs_.push_back(Napi::Persistent(value.As<Napi::Object>()));
    }
  }

  void Execute() override {
    try {
      result_.emplace(work_());
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (error_) {
      deferred_.Reject(ToJsError(env, FromException(error_)));
      return;
    }
    try {
      deferred_.Resolve(to_js_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(ToJsError(env, FromException(std::current_exception())));
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  Work work_;
  ToJs to_js_;
  std::optional<Result> result_;
  std::exception_ptr error_;
  std::vector<Napi::ObjectReference> refs_;
};

// Converts a core exception thrown synchronously on the JS thread into the JS NativeError.
template <typename Fn>
auto CallSync(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error(env, ToJsError(env, FromException(std::current_exception())));
  }
}

}  // namespace hvr::binding
