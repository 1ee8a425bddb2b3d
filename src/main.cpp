// zhttpd: the static files of --root, served by zhttp::run() like any embedding program.
#include <memory>

#include "zhttp/app.hpp"

namespace {

class StaticSite : public zhttp::App {
  std::unique_ptr<zhttp::Handler> make_handler(const zhttp::AppContext&) override {
    return nullptr;  // the static files alone
  }
};

}  // namespace

int main(int argc, char** argv) {
  StaticSite site;
  return zhttp::run(argc, argv, site);
}
