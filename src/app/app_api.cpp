// The embedding API's declarations and per-worker context (include/zhttp/app.hpp).
#include "zhttp/app.hpp"

namespace zhttp {

void AppDeclarations::option(std::string name, std::string default_value, std::string help,
                             Check check) {
  options_.push_back(
      {std::move(name), std::move(default_value), std::move(help), std::move(check), false});
}

void AppDeclarations::flag(std::string name, std::string help) {
  options_.push_back({std::move(name), "false", std::move(help), {}, true});
}

void AppDeclarations::counter(std::string name, std::string help) {
  values_.push_back({std::move(name), std::move(help), false});
}

void AppDeclarations::gauge(std::string name, std::string help) {
  values_.push_back({std::move(name), std::move(help), true});
}

const std::string& AppContext::option(std::string_view name) const {
  static const std::string kNone;
  if (options_ == nullptr) return kNone;
  auto it = options_->find(name);
  return it == options_->end() ? kNone : it->second;
}

AppCounter AppContext::counter(std::string_view name) const {
  return AppCounter(word_ ? word_(name) : nullptr);
}

AppGauge AppContext::gauge(std::string_view name) const {
  return AppGauge(word_ ? word_(name) : nullptr);
}

}  // namespace zhttp
