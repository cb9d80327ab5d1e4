// UTF-8 (what JavaScript hands us) to UTF-16 (what the wide Win32 APIs take) and back.
#pragma once

#include <string>

namespace hvr {
std::wstring Utf8ToWide(const std::string& text);
std::string WideToUtf8(const std::wstring& text);
}  // namespace hvr
