#pragma once
// The zhttpd release, printed by --version.
#include <string_view>

namespace zhttp::cli {

inline constexpr std::string_view kVersion = "0.3.0";

}  // namespace zhttp::cli
