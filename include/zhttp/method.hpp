#pragma once
#include <cstdint>
#include <string_view>

namespace zhttp {

// Request methods of RFC 9110 (plus PATCH). Any other token parses as kExtension; its name is
// in Request::method_name.
enum class Method : uint8_t {
  kExtension,
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kConnect,
  kOptions,
  kTrace,
  kPatch,
};

std::string_view method_name(Method m);

}  // namespace zhttp
