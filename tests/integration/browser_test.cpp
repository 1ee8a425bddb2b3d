// The demo site in a real browser: zhttpd serves build/www (made by `make www`) with the options
// `make run` uses, and Debian's Chromium, headless, loads it: the script renders each view, the
// screenshot is not blank, nothing is written to the console, and the access log shows the
// assets sent precompressed with brotli and the video fetched in ranges (206).
//
// Chromium is a test dependency (scripts/install-deps.sh installs it): without it the tests fail.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "server_process.hpp"

namespace zhttp::test {
namespace {

const std::string kChromium = "/usr/bin/chromium";
const std::string kSite = ZHTTP_BUILD_DIR "/www";

// Headless, as root (so without its sandbox), and without its own connections (updates, sync,
// QUIC), which this closed network refuses; its console on stderr; 5 s of virtual time (not of
// the clock) for the scripts and loads before the DOM or the screenshot is taken. Virtual time
// stands still while a fetch is pending, and headless Chromium has been seen (once in many runs)
// to wait on one forever: --timeout (real time) then takes the DOM or the screenshot anyway, and
// the access log tells what the server answered.
const std::vector<std::string> kChromiumFlags = {"--headless=new",
                                                 "--no-sandbox",
                                                 "--disable-gpu",
                                                 "--disable-quic",
                                                 "--disable-background-networking",
                                                 "--disable-component-update",
                                                 "--disable-sync",
                                                 "--no-first-run",
                                                 "--enable-logging=stderr",
                                                 "--v=0",
                                                 "--virtual-time-budget=5000",
                                                 "--timeout=15000",
                                                 "--hide-scrollbars",
                                                 "--window-size=1280,900"};

// ---- a PNG reader for the screenshots: 8-bit RGB or RGBA, not interlaced ----------------------

struct Image {
  uint32_t width = 0;
  uint32_t height = 0;
  size_t channels = 0;
  std::vector<uint8_t> pixels;  // rows of width * channels bytes

  const uint8_t* at(uint32_t x, uint32_t y) const {
    return &pixels[(size_t{y} * width + x) * channels];
  }
};

uint32_t big_endian32(std::string_view s, size_t at) {
  return uint32_t{static_cast<uint8_t>(s[at])} << 24 |
         uint32_t{static_cast<uint8_t>(s[at + 1])} << 16 |
         uint32_t{static_cast<uint8_t>(s[at + 2])} << 8 | uint32_t{static_cast<uint8_t>(s[at + 3])};
}

uint8_t paeth(int a, int b, int c) {
  int p = a + b - c;
  int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

// Decodes the PNG file `png` into *image: "" or what is wrong with it.
std::string decode_png(std::string_view png, Image* image) {
  if (!png.starts_with("\x89PNG\r\n\x1a\n")) return "not a PNG";
  std::string compressed;
  uint8_t depth = 0, colour_type = 0, interlace = 0;
  for (size_t at = 8; at + 12 <= png.size();) {
    const uint32_t length = big_endian32(png, at);
    const std::string_view kind = png.substr(at + 4, 4);
    if (length > png.size() - at - 12) return "a chunk runs past the end";
    const std::string_view data = png.substr(at + 8, length);
    if (kind == "IHDR" && length == 13) {
      image->width = big_endian32(data, 0);
      image->height = big_endian32(data, 4);
      depth = static_cast<uint8_t>(data[8]);
      colour_type = static_cast<uint8_t>(data[9]);
      interlace = static_cast<uint8_t>(data[12]);
    } else if (kind == "IDAT") {
      compressed.append(data);
    } else if (kind == "IEND") {
      break;
    }
    at += 12 + length;
  }
  if (depth != 8 || (colour_type != 2 && colour_type != 6) || interlace != 0) {
    return "not an 8-bit RGB(A) non-interlaced PNG: depth " + std::to_string(depth) +
           ", colour type " + std::to_string(colour_type);
  }
  image->channels = colour_type == 6 ? 4 : 3;
  const size_t stride = image->width * image->channels;
  std::vector<uint8_t> rows(image->height * (stride + 1));  // each row: its filter, its bytes
  uLongf size = rows.size();
  if (::uncompress(rows.data(), &size, reinterpret_cast<const Bytef*>(compressed.data()),
                   compressed.size()) != Z_OK ||
      size != rows.size()) {
    return "the image data does not inflate to " + std::to_string(rows.size()) + " bytes";
  }
  // Undo each row's filter (PNG, section 9) from the byte to the left (a), above (b) and
  // above-left (c).
  image->pixels.resize(image->height * stride);
  for (size_t y = 0; y < image->height; ++y) {
    const uint8_t filter = rows[y * (stride + 1)];
    const uint8_t* in = &rows[y * (stride + 1) + 1];
    uint8_t* out = &image->pixels[y * stride];
    const uint8_t* up = y > 0 ? out - stride : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= image->channels ? out[i - image->channels] : 0;
      const int b = up ? up[i] : 0;
      const int c = up && i >= image->channels ? up[i - image->channels] : 0;
      int predicted = 0;
      switch (filter) {
        case 0:
          break;
        case 1:
          predicted = a;
          break;
        case 2:
          predicted = b;
          break;
        case 3:
          predicted = (a + b) / 2;
          break;
        case 4:
          predicted = paeth(a, b, c);
          break;
        default:
          return "row " + std::to_string(y) + " has filter " + std::to_string(filter);
      }
      out[i] = static_cast<uint8_t>(in[i] + predicted);
    }
  }
  return "";
}

// ---- the access log ----------------------------------------------------------------------------

// One line of the extended access log: nginx's combined format, then "HOST" "CONTENT-ENCODING"
// "UPSTREAM" UPSTREAM_STATUS UPSTREAM_TIME (all "-" here: no proxy).
struct LogLine {
  std::string target;
  int status = 0;
  std::string encoding;
  std::string text;
};

std::vector<LogLine> parse_access_log(const std::string& log) {
  std::vector<LogLine> lines;
  std::istringstream in(log);
  for (std::string text; std::getline(in, text);) {
    LogLine line;
    line.text = text;
    const size_t request = text.find("\"GET ");
    const size_t version = text.find(" HTTP/1.1\" ", request);
    if (request != std::string::npos && version != std::string::npos) {
      line.target = text.substr(request + 5, version - request - 5);
      line.status = std::atoi(text.c_str() + version + 11);
    }
    const std::string upstream_tail = " \"-\" - -";
    if (text.ends_with(upstream_tail)) {
      const std::string front = text.substr(0, text.size() - upstream_tail.size());
      line.encoding = front.substr(front.rfind('"', front.size() - 2) + 1);
      line.encoding.pop_back();
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// ---- the browser -------------------------------------------------------------------------------

// One headless Chromium run of `action` (--dump-dom, --screenshot=FILE) on `url` in a fresh
// profile, its console written to stderr. coreutils' timeout kills its whole process group (the
// browser and its children) after `seconds`; run_program() gives up a little later.
ProgramResult run_chromium(const std::string& profile, const std::string& action,
                           const std::string& url, int seconds) {
  std::vector<std::string> args = {"/usr/bin/timeout", "-k", "5", std::to_string(seconds),
                                   kChromium};
  args.insert(args.end(), kChromiumFlags.begin(), kChromiumFlags.end());
  args.insert(args.end(), {"--user-data-dir=" + profile, action, url});
  ProgramResult r = run_program(args, seconds + 10);
  std::error_code ec;
  std::filesystem::remove_all(profile, ec);
  return r;
}

class Browser : public ::testing::Test {
 protected:
  // Chromium's first start on a fresh machine: in CI it once printed nothing (not even its
  // start-up log) for the 30 s a page gets, on the first page of the run, while every later
  // page took 2 s. Most likely its 350 MB were read from a cold disk. So the suite starts it
  // once on about:blank, with time enough and a second chance, before any page is timed; a
  // Chromium that cannot do even that fails here, saying so.
  static void SetUpTestSuite() {
    const std::string profile =
        ::testing::TempDir() + "zhttpd-browser-warm-up-" + std::to_string(::getpid());
    ProgramResult r;
    for (int attempt = 0; attempt < 2 && !(r.finished && exited_with(r.status, 0)); ++attempt) {
      r = run_chromium(profile, "--dump-dom", "about:blank", 90);
    }
    if (!r.finished || !exited_with(r.status, 0)) {
      ADD_FAILURE() << "chromium's first start (about:blank, twice): " << describe_status(r.status)
                    << "\n"
                    << r.err;
    }
  }

  void SetUp() override {
    ASSERT_EQ(::access(kChromium.c_str(), X_OK), 0)
        << kChromium << " is missing: the browser tests need Debian's chromium package "
        << "(scripts/install-deps.sh installs it)";
    ASSERT_TRUE(std::filesystem::exists(kSite + "/index.html"))
        << kSite << " is not built (make www)";
    ServerOptions o = ServerOptions::zhttpd(
        {"--listen", "{address}", "--root", kSite, "--workers", "1", "--access-log",
         server_.path("access.log"), "--access-log-format", "extended", "--error-page",
         "404=/404.html", "--fallback", "/index.html", "--cache-control",
         "/assets/*=public, max-age=31536000, immutable", "--cache-control", "*.html=no-cache"});
    o.access_log = server_.path("access.log");
    o.sigterm_death_is_clean = true;
    ASSERT_NO_FATAL_FAILURE(server_.start(std::move(o)));
  }

  // Chromium sends "Accept-Encoding: gzip, deflate, br, zstd" only to a potentially trustworthy
  // origin: over plain HTTP that is 127.0.0.1 or localhost (both seen to get br and zstd, from
  // Chromium 156), while another host name gets "gzip, deflate". 127.0.0.1, because zhttpd
  // listens on IPv4 only and localhost may be tried as ::1 first.
  std::string url(std::string_view path) const {
    return "http://" + server_.address() + std::string(path);
  }

  // One Chromium run on `path` doing `action`, 30 s at most.
  ProgramResult chromium(std::string_view path, const std::string& action) {
    const std::string profile = server_.path("profile-" + std::to_string(++runs_));
    ProgramResult r = run_chromium(profile, action, url(path), 30);
    EXPECT_TRUE(r.finished && exited_with(r.status, 0))
        << "chromium " << action << " " << url(path) << ": " << describe_status(r.status) << "\n"
        << r.err;
    return r;
  }

  // The DOM of `path` once its scripts ran; its console must stay empty (the site writes nothing
  // to it, so any message is an error or a warning: Chromium logs them all at one level).
  std::string dom(std::string_view path) {
    ProgramResult r = chromium(path, "--dump-dom");
    std::istringstream err(r.err);
    for (std::string line; std::getline(err, line);) {
      if (line.find(":CONSOLE") != std::string::npos) ADD_FAILURE() << path << " logged: " << line;
    }
    return r.out;
  }

  // The access log, complete once the server stopped.
  std::vector<LogLine> stop_and_read_log() {
    server_.finish();
    return parse_access_log(server_.access_log());
  }

  ServerProcess server_{"zhttpd-browser-test"};
  int runs_ = 0;
};

TEST_F(Browser, HomePageRunsItsScript) {
  std::string page = dom("/");
  EXPECT_TRUE(page.find("<p id=\"status\">ready: home</p>") != std::string::npos) << page;
  EXPECT_TRUE(page.find("<video src=\"/assets/mandelbrot.") != std::string::npos) << page;
}

// A deep link names no file: the fallback answers with /index.html, whose script picks the view.
TEST_F(Browser, DeepLinkGetsTheAppAndItsView) {
  std::string page = dom("/settings/profile");
  EXPECT_TRUE(page.find("<p id=\"status\">ready: profile</p>") != std::string::npos) << page;
}

TEST_F(Browser, MissingPageGetsTheErrorPage) {
  std::string page = dom("/no-such-page.html");
  EXPECT_TRUE(page.find("<h1 id=\"error\">404: this page does not exist</h1>") != std::string::npos)
      << page;
  bool logged = false;
  for (const LogLine& line : stop_and_read_log()) {
    if (line.target == "/no-such-page.html") {
      logged = true;
      EXPECT_EQ(line.status, 404) << line.text;
    }
  }
  EXPECT_TRUE(logged) << server_.access_log();
}

TEST_F(Browser, ScreenshotIsNotBlank) {
  const std::string file = server_.path("home.png");
  chromium("/", "--screenshot=" + file);
  Image image;
  ASSERT_EQ(decode_png(read_file(file), &image), "") << file;
  ASSERT_EQ(image.width, 1280u);
  ASSERT_EQ(image.height, 900u);
  bool varied = false;
  for (size_t i = image.channels; i < image.pixels.size() && !varied; i += image.channels) {
    varied = !std::equal(&image.pixels[i], &image.pixels[i] + image.channels, image.at(0, 0));
  }
  EXPECT_TRUE(varied) << "the screenshot is one colour";
  // The header is dark (#0f172a at its left) only when the style sheet was decoded and applied.
  const uint8_t* header = image.at(4, 4);
  EXPECT_LT(header[0] + header[1] + header[2], 3 * 64)
      << "rgb(" << int{header[0]} << ", " << int{header[1]} << ", " << int{header[2]} << ")";
}

// Chromium sends "Accept-Encoding: gzip, deflate, br, zstd" for the page and its sub-resources
// (see url()); the build writes .br and .gz variants, so brotli is the smallest acceptable. The
// video element asks for "Range: bytes=0-".
TEST_F(Browser, AssetsComeWithBrotliAndTheVideoInRanges) {
  dom("/");
  bool css = false, js = false, video = false;
  for (const LogLine& line : stop_and_read_log()) {
    const bool asset = line.target.starts_with("/assets/app.");
    if (asset && line.target.ends_with(".css")) {
      css = true;
      EXPECT_EQ(line.status, 200) << line.text;
      EXPECT_EQ(line.encoding, "br") << line.text;
    } else if (asset && line.target.ends_with(".js")) {
      js = true;
      EXPECT_EQ(line.status, 200) << line.text;
      EXPECT_EQ(line.encoding, "br") << line.text;
    } else if (line.target.ends_with(".webm")) {
      video = true;
      EXPECT_EQ(line.status, 206) << line.text;
    } else {
      // A failed load is not in Chromium's log (only console messages are): none may fail.
      EXPECT_LT(line.status, 400) << line.text;
    }
  }
  EXPECT_TRUE(css && js && video) << "css " << css << ", js " << js << ", video " << video << "\n"
                                  << server_.access_log();
}

}  // namespace
}  // namespace zhttp::test
