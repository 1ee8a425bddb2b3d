#pragma once
// A SipHash key from the kernel's randomness, for a table of the shared segment whose buckets a
// client must not be able to predict (the limiter's zones, the cache).
#include <string_view>

#include "shm/siphash.hpp"

namespace zhttp::app {

// Throws std::runtime_error naming `what` when the kernel gives no randomness.
shm::SipKey fresh_secret(std::string_view what);

}  // namespace zhttp::app
