// JS_ functions of the manifest hashes (hash/blake3.h, hash/xxh128.h): a whole window of blocks per call, hashed on
// the libuv pool so that the main thread goes on reading the next window meanwhile.
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "binding/async_work.h"
#include "binding/buffer_pieces.h"
#include "binding/registry.h"
#include "hash/blake3.h"
#include "hash/xxh128.h"

namespace hvr::binding {
namespace {

using hash::Blake3Path;

// Bytes per block in a manifest, whatever the algorithm (src/tracking/hash/manifest.ts).
constexpr size_t kDigestSlot = 32;

Blake3Path PathArgument(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return Blake3Path::kAuto;
  if (!info[index].IsString()) ThrowUsage(info.Env(), "the BLAKE3 path must be a string");
  const std::string name = info[index].As<Napi::String>();
  for (Blake3Path path : {Blake3Path::kAvx512, Blake3Path::kAvx2, Blake3Path::kPortable}) {
    if (name == hash::Blake3PathName(path)) return path;
  }
  ThrowUsage(info.Env(), ("unknown BLAKE3 path '" + name + "': expected avx512, avx2 or portable").c_str());
}

Napi::Value JsBlake3Paths(const Napi::CallbackInfo& info) {
  const std::vector<Blake3Path> paths = hash::Blake3Paths();
  Napi::Array out = Napi::Array::New(info.Env(), paths.size());
  for (uint32_t i = 0; i < paths.size(); i++) out.Set(i, hash::Blake3PathName(paths[i]));
  return out;
}

// blake3(data, path?) → the 32-byte digest, synchronously (small inputs: zero digests, tests).
Napi::Value JsBlake3(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray()) ThrowUsage(info.Env(), "Usage: blake3(data, path?)");
  Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
  const Blake3Path path = PathArgument(info, 1);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), hash::kBlake3DigestSize);
  CallSync(info.Env(), [&] { hash::Blake3(data.Data(), data.ByteLength(), out.Data(), path); });
  return out;
}

// Starts a job on the libuv pool that hashes every blockSize block of the typed array at info[0] (blockSize at
// info[1]) into 32-byte slots with `hash_blocks(bytes, length, block, slots)`; data stays referenced until done.
template <typename HashBlocks>
Napi::Value BlocksOfData(const Napi::CallbackInfo& info, const char* usage, const char* resource, HashBlocks hash_blocks) {
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) ThrowUsage(info.Env(), usage);
  Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
  const int64_t block_size = info[1].As<Napi::Number>().Int64Value();
  if (block_size <= 0) ThrowUsage(info.Env(), "blockSize must be a positive integer");
  const uint8_t* bytes = data.Data();
  const size_t length = data.ByteLength();
  const size_t block = static_cast<size_t>(block_size);
  return PromiseWorker<std::vector<uint8_t>>::Run(
      info.Env(), resource,
      [bytes, length, block, hash_blocks] {
        std::vector<uint8_t> digests((length + block - 1) / block * kDigestSlot);
        hash_blocks(bytes, length, block, digests.data());
        return digests;
      },
      [](Napi::Env env, std::vector<uint8_t>& digests) -> Napi::Value {
        return Napi::Buffer<uint8_t>::Copy(env, digests.data(), digests.size());
      },
      {data});
}

// blake3Blocks(data, blockSize, path?) → Promise of the digests of every blockSize block of data, 32 bytes each.
Napi::Value JsBlake3Blocks(const Napi::CallbackInfo& info) {
  const Blake3Path path = PathArgument(info, 2);
  return BlocksOfData(info, "Usage: blake3Blocks(data, blockSize, path?)", "hvr.blake3Blocks",
                      [path](const uint8_t* in, size_t n, size_t block, uint8_t* out) { hash::Blake3Blocks(in, n, block, out, path); });
}

// xxh128(data) → the 16-byte XXH3-128 digest (canonical, big-endian), synchronously (zero digests, tests).
Napi::Value JsXxh128(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray()) ThrowUsage(info.Env(), "Usage: xxh128(data)");
  Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), hash::kXxh128DigestSize);
  CallSync(info.Env(), [&] { hash::Xxh128(data.Data(), data.ByteLength(), out.Data()); });
  return out;
}

// xxh128Blocks(data, blockSize) → Promise of the XXH3-128 digest of every blockSize block of data, each in a
// 32-byte manifest slot (16 bytes of digest, 16 zero bytes).
Napi::Value JsXxh128Blocks(const Napi::CallbackInfo& info) {
  return BlocksOfData(info, "Usage: xxh128Blocks(data, blockSize)", "hvr.xxh128Blocks",
                      [](const uint8_t* in, size_t n, size_t block, uint8_t* out) { hash::Xxh128Blocks(in, n, block, out, kDigestSlot); });
}

// blake3Pieces(buffers, path?) → Promise of the 32-byte digest of the buffers back to back (a record's payload
// as it arrived in network chunks). Several are gathered into the pool thread's own reused buffer, so no JS
// buffer is made for the joined bytes and the copy runs off the JS thread.
Napi::Value JsBlake3Pieces(const Napi::CallbackInfo& info) {
  constexpr const char* kUsage = "Usage: blake3Pieces(buffers, path?)";
  if (info.Length() < 1) ThrowUsage(info.Env(), kUsage);
  BufferPieces data = ReadBufferPieces(info.Env(), info[0], false, kUsage);
  std::vector<Napi::Value> keep = std::move(data.keep);
  const Blake3Path path = PathArgument(info, 1);
  return PromiseWorker<std::vector<uint8_t>>::Run(
      info.Env(), "hvr.blake3Pieces",
      [data = std::move(data), path] {
        std::vector<uint8_t> digest(hash::kBlake3DigestSize);
        hash::Blake3(data.Gathered(), data.length, digest.data(), path);
        return digest;
      },
      [](Napi::Env env, std::vector<uint8_t>& digest) -> Napi::Value {
        return Napi::Buffer<uint8_t>::Copy(env, digest.data(), digest.size());
      },
      std::move(keep));
}

// xxh128Pieces(buffers) → Promise of the 16-byte XXH3-128 digest of the buffers back to back (a record's payload
// as it arrived in network chunks), hashed on the pool where each lies: nothing is gathered.
Napi::Value JsXxh128Pieces(const Napi::CallbackInfo& info) {
  constexpr const char* kUsage = "Usage: xxh128Pieces(buffers)";
  if (info.Length() < 1) ThrowUsage(info.Env(), kUsage);
  BufferPieces data = ReadBufferPieces(info.Env(), info[0], false, kUsage);
  std::vector<Napi::Value> keep = std::move(data.keep);
  return PromiseWorker<std::vector<uint8_t>>::Run(
      info.Env(), "hvr.xxh128Pieces",
      [pieces = std::move(data.pieces)] {
        std::vector<uint8_t> digest(hash::kXxh128DigestSize);
        hash::Xxh128Pieces(pieces, digest.data());
        return digest;
      },
      [](Napi::Env env, std::vector<uint8_t>& digest) -> Napi::Value {
        return Napi::Buffer<uint8_t>::Copy(env, digest.data(), digest.size());
      },
      std::move(keep));
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("blake3Paths", Napi::Function::New(env, JsBlake3Paths, "blake3Paths"));
  exports.Set("blake3", Napi::Function::New(env, JsBlake3, "blake3"));
  exports.Set("blake3Blocks", Napi::Function::New(env, JsBlake3Blocks, "blake3Blocks"));
  exports.Set("blake3Pieces", Napi::Function::New(env, JsBlake3Pieces, "blake3Pieces"));
  exports.Set("xxh128", Napi::Function::New(env, JsXxh128, "xxh128"));
  exports.Set("xxh128Blocks", Napi::Function::New(env, JsXxh128Blocks, "xxh128Blocks"));
  exports.Set("xxh128Pieces", Napi::Function::New(env, JsXxh128Pieces, "xxh128Pieces"));
}
BindingRegistrar registrar(Register);

}  // namespace
}  // namespace hvr::binding
