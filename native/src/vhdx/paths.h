// Lexical path handling for parent locators: Windows-style locator paths resolved against the child's
// directory, on any host. No file system calls (core/file.h decides what exists).
#pragma once

#include <string>
#include <vector>

namespace hvr::vhdx {

std::string DirName(const std::string& path);
std::string BaseName(const std::string& path);
// Joins `relative` (either separator) to `dir`, removing "." and resolving ".." lexically.
std::string JoinPath(const std::string& dir, const std::string& relative);
std::string NormalizePath(const std::string& path);
bool IsAbsolutePath(const std::string& path);
// A relative path from directory `from_dir` to `target` in Windows form (".\name", "..\dir\name"),
// or "" when the two share no root.
std::string RelativeWindowsPath(const std::string& from_dir, const std::string& target);

}  // namespace hvr::vhdx
