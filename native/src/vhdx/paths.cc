#include "vhdx/paths.h"

namespace hvr::vhdx {
namespace {

bool IsSep(char c) { return c == '/' || c == '\\'; }

#ifdef _WIN32
constexpr char kSep = '\\';
#else
constexpr char kSep = '/';
#endif

std::vector<std::string> Split(const std::string& path, std::string* root) {
  size_t i = 0;
  root->clear();
  if (path.size() >= 2 && path[1] == ':') {
    *root = path.substr(0, 2);
    i = 2;
  }
  if (i < path.size() && IsSep(path[i])) {
    *root += kSep;
    ++i;
  }
  std::vector<std::string> parts;
  std::string cur;
  for (; i <= path.size(); ++i) {
    if (i == path.size() || IsSep(path[i])) {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += path[i];
    }
  }
  return parts;
}

}  // namespace

std::string NormalizePath(const std::string& path) {
  std::string root;
  std::vector<std::string> parts = Split(path, &root);
  std::vector<std::string> out;
  for (const std::string& p : parts) {
    if (p == ".") continue;
    if (p == ".." && !out.empty() && out.back() != "..") {
      out.pop_back();
      continue;
    }
    if (p == ".." && !root.empty()) continue;
    out.push_back(p);
  }
  std::string result = root;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) result += kSep;
    result += out[i];
  }
  return result.empty() ? "." : result;
}

bool IsAbsolutePath(const std::string& path) {
  if (!path.empty() && IsSep(path[0])) return true;
  return path.size() >= 3 && path[1] == ':' && IsSep(path[2]);
}

std::string DirName(const std::string& path) {
  size_t cut = path.find_last_of("/\\");
  if (cut == std::string::npos) return ".";
  if (cut == 0) return path.substr(0, 1);
  return path.substr(0, cut);
}

std::string BaseName(const std::string& path) {
  size_t cut = path.find_last_of("/\\");
  return cut == std::string::npos ? path : path.substr(cut + 1);
}

std::string JoinPath(const std::string& dir, const std::string& relative) {
  if (IsAbsolutePath(relative)) return NormalizePath(relative);
  return NormalizePath(dir + kSep + relative);
}

std::string RelativeWindowsPath(const std::string& from_dir, const std::string& target) {
  std::string root_a, root_b;
  std::vector<std::string> a = Split(NormalizePath(from_dir), &root_a);
  std::vector<std::string> b = Split(NormalizePath(target), &root_b);
  if (root_a != root_b) return "";
  size_t common = 0;
  while (common < a.size() && common + 1 < b.size() && a[common] == b[common]) ++common;
  std::string out;
  if (common == a.size()) out = ".\\";
  for (size_t i = common; i < a.size(); ++i) out += "..\\";
  for (size_t i = common; i < b.size(); ++i) {
    out += b[i];
    if (i + 1 < b.size()) out += '\\';
  }
  return out;
}

}  // namespace hvr::vhdx
