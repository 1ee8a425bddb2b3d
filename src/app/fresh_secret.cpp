#include "app/fresh_secret.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace zhttp::app {

shm::SipKey fresh_secret(std::string_view what) {
  shm::SipKey secret{};
  if (::getrandom(&secret, sizeof secret, 0) != static_cast<ssize_t>(sizeof secret)) {
    throw std::runtime_error("cannot draw a secret for " + std::string(what) + ": " +
                             std::strerror(errno));
  }
  return secret;
}

}  // namespace zhttp::app
