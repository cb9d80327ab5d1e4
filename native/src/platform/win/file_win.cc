#include <windows.h>
#include <winioctl.h>

#include <algorithm>

#include "core/file.h"
#include "core/native_error.h"
#include "platform/win/utf16.h"

namespace hvr {
namespace {

constexpr DWORD kMaxChunk = 1u << 30;  // ReadFile/WriteFile take a DWORD length

OVERLAPPED At(uint64_t offset) {
  OVERLAPPED ov{};
  ov.Offset = static_cast<DWORD>(offset & 0xFFFFFFFFu);
  ov.OffsetHigh = static_cast<DWORD>(offset >> 32);
  return ov;
}

// WriteFile of all `length` bytes at `offset`, in pieces of at most kMaxChunk (a multiple of any sector size).
// 0, or the Win32 error that stopped it.
DWORD WriteAll(HANDLE handle, const void* buffer, size_t length, uint64_t offset) {
  const auto* in = static_cast<const char*>(buffer);
  while (length > 0) {
    DWORD want = length > kMaxChunk ? kMaxChunk : static_cast<DWORD>(length);
    DWORD put = 0;
    OVERLAPPED ov = At(offset);
    if (!WriteFile(handle, in, want, &put, &ov)) return GetLastError();
    if (put == 0) return ERROR_WRITE_FAULT;
    in += put;
    offset += put;
    length -= put;
  }
  return 0;
}

class WinFile final : public File {
 public:
  WinFile(HANDLE handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  ~WinFile() override { CloseHandle(handle_); }

  void ReadAt(uint64_t offset, void* buffer, size_t length) override {
    auto* out = static_cast<char*>(buffer);
    while (length > 0) {
      DWORD want = length > kMaxChunk ? kMaxChunk : static_cast<DWORD>(length);
      DWORD got = 0;
      OVERLAPPED ov = At(offset);
      if (!ReadFile(handle_, out, want, &got, &ov)) {
        DWORD err = GetLastError();
        if (err != ERROR_HANDLE_EOF) ThrowWin32(err, "ReadFile", path_);
      }
      if (got == 0) {
        throw NativeError(codes::kIo, "unexpected end of file reading '" + path_ + "' at offset " +
                                          std::to_string(offset) + ": the file is truncated");
      }
      out += got;
      offset += got;
      length -= got;
    }
  }

  void WriteAt(uint64_t offset, const void* buffer, size_t length) override {
    if (DWORD err = WriteAll(handle_, buffer, length, offset)) ThrowWin32(err, "WriteFile", path_);
  }

  void WriteGatherAt(uint64_t offset, const ByteRun* runs, size_t count) override {
    // WriteFileGather takes only page-sized pieces of an unbuffered file: one write per run here.
    for (size_t i = 0; i < count; ++i) {
      WriteAt(offset, runs[i].data, runs[i].size);
      offset += runs[i].size;
    }
  }

  // Windows offers no copy between two open files by range (CopyFileEx copies whole files): through a buffer.
  void CopyFrom(File& source, uint64_t source_offset, uint64_t offset, uint64_t length) override {
    CopyThroughBuffer(source, source_offset, *this, offset, length);
  }

  void Flush() override {
    if (!FlushFileBuffers(handle_)) ThrowWin32(GetLastError(), "FlushFileBuffers", path_);
  }

  uint64_t Size() override {
    LARGE_INTEGER size{};
    if (!GetFileSizeEx(handle_, &size)) ThrowWin32(GetLastError(), "GetFileSizeEx", path_);
    return static_cast<uint64_t>(size.QuadPart);
  }

  void Resize(uint64_t size) override {
    FILE_END_OF_FILE_INFO eof{};
    eof.EndOfFile.QuadPart = static_cast<LONGLONG>(size);
    if (!SetFileInformationByHandle(handle_, FileEndOfFileInfo, &eof, sizeof eof)) {
      ThrowWin32(GetLastError(), "SetFileInformationByHandle(EndOfFile)", path_);
    }
  }

  // Sparse-file hole punching needs FSCTL_SET_ZERO_DATA on a sparse file; keeping the bytes is correct.
  void Deallocate(uint64_t, uint64_t) override {}

  const std::string& path() const override { return path_; }

 private:
  HANDLE handle_;
  std::string path_;
};

}  // namespace

std::unique_ptr<File> File::Open(const std::string& path, OpenMode mode) {
  DWORD access = mode == OpenMode::kReadOnly ? GENERIC_READ : GENERIC_READ | GENERIC_WRITE;
  DWORD share = mode == OpenMode::kReadOnly || mode == OpenMode::kReadWriteShared ? FILE_SHARE_READ | FILE_SHARE_WRITE
                                                                                  : FILE_SHARE_READ;
  DWORD disposition = mode == OpenMode::kCreateNew ? CREATE_NEW : OPEN_EXISTING;
  HANDLE handle = CreateFileW(Utf8ToWide(path).c_str(), access, share, nullptr, disposition,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
  if (handle == INVALID_HANDLE_VALUE) ThrowWin32(GetLastError(), "CreateFileW", path);
  return std::make_unique<WinFile>(handle, path);
}

namespace {

class NoBufferingFile final : public UnbufferedFile {
 public:
  NoBufferingFile(HANDLE handle, size_t alignment, std::string path)
      : handle_(handle), alignment_(alignment), path_(std::move(path)) {}
  ~NoBufferingFile() override { CloseHandle(handle_); }

  size_t alignment() const override { return alignment_; }

  bool WriteAt(uint64_t offset, const void* buffer, size_t length) override {
    DWORD err = WriteAll(handle_, buffer, length, offset);
    if (err == ERROR_INVALID_PARAMETER) return false;
    if (err != 0) ThrowWin32(err, "WriteFile (unbuffered)", path_);
    return true;
  }

 private:
  HANDLE handle_;
  size_t alignment_;
  std::string path_;
};

}  // namespace

std::unique_ptr<UnbufferedFile> UnbufferedFile::Open(const std::string& path) {
  // No FILE_FLAG_WRITE_THROUGH: each write would wait for the medium; FlushFileBuffers of the buffered handle
  // makes them durable together, as it does the buffered writes.
  HANDLE handle = CreateFileW(Utf8ToWide(path).c_str(), GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                              OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_NO_BUFFERING, nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    DWORD err = GetLastError();
    if (err == ERROR_INVALID_PARAMETER || err == ERROR_NOT_SUPPORTED) return nullptr;
    ThrowWin32(err, "CreateFileW (FILE_FLAG_NO_BUFFERING)", path);
  }
  // Sector-aligned offsets, lengths and addresses; at least a page, as on Linux.
  size_t alignment = 4096;
  FILE_STORAGE_INFO storage{};
  if (GetFileInformationByHandleEx(handle, FileStorageInfo, &storage, sizeof storage)) {
    alignment = std::max<size_t>(alignment, storage.PhysicalBytesPerSectorForPerformance);
  }
  return std::make_unique<NoBufferingFile>(handle, alignment, path);
}

bool File::Exists(const std::string& path) {
  return GetFileAttributesW(Utf8ToWide(path).c_str()) != INVALID_FILE_ATTRIBUTES;
}

bool MarkSparse(const std::string& path) {
  // FILE_WRITE_ATTRIBUTES is all FSCTL_SET_SPARSE needs; sharing everything lets the writer keep its handle.
  HANDLE handle = CreateFileW(Utf8ToWide(path).c_str(), FILE_WRITE_ATTRIBUTES,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
  if (handle == INVALID_HANDLE_VALUE) ThrowWin32(GetLastError(), "CreateFileW", path);
  DWORD returned = 0;
  BOOL ok = DeviceIoControl(handle, FSCTL_SET_SPARSE, nullptr, 0, nullptr, 0, &returned, nullptr);
  DWORD error = ok ? ERROR_SUCCESS : GetLastError();
  CloseHandle(handle);
  if (ok) return true;
  // A file system without sparse files (FAT, some network shares) keeps writing zeros: slower, still correct.
  if (error == ERROR_INVALID_FUNCTION || error == ERROR_NOT_SUPPORTED) return false;
  ThrowWin32(error, "DeviceIoControl(FSCTL_SET_SPARSE)", path);
}

}  // namespace hvr
