// The segment's room check: a segment larger than what /dev/shm has free is refused at creation,
// with the sizes and the option to lower, instead of a SIGBUS when its pages are first touched.
#include "shm/segment.hpp"

#include <gtest/gtest.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

namespace zhttp::shm {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST(SegmentRoom, FitsOrNamesTheSizesAndTheOption) {
  EXPECT_EQ(segment_room_error(64 * kMiB, 64 * kMiB), "");
  EXPECT_EQ(segment_room_error(0, 0), "");
  // Docker's default /dev/shm, a default cache and the rest of the segment: the needed size is
  // rounded up and the free one down, so they never print alike.
  EXPECT_EQ(segment_room_error(64 * kMiB + 300 * 1024, 64 * kMiB - 1),
            "cannot create the shared segment: it needs 64.3 MiB and /dev/shm has 63.9 MiB free; "
            "lower --cache-size (or enlarge /dev/shm)");
  EXPECT_EQ(segment_room_error(64 * kMiB + 1, 64 * kMiB),
            "cannot create the shared segment: it needs 64.1 MiB and /dev/shm has 64.0 MiB free; "
            "lower --cache-size (or enlarge /dev/shm)");
  EXPECT_NE(segment_room_error(uint64_t{1} << 40, 0).find("needs 1048576.0 MiB"),
            std::string::npos);
}

// A region larger than /dev/shm's free space: create() throws that error (before, the segment
// was made sparse and a worker touching past the space would have died of SIGBUS).
TEST(SegmentRoom, CreateRefusesASegmentLargerThanTheFreeSpace) {
  struct statvfs fs {};
  if (::statvfs("/dev/shm", &fs) != 0 || fs.f_blocks == 0) {
    GTEST_SKIP() << "no size-limited /dev/shm";
  }
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  const std::string name = "zhttpd-segment-test-" + std::to_string(::getpid());
  try {
    Segment::create(name, static_cast<uint64_t>(::getpid()),
                    {{RegionKind::kCache, 1, free_bytes + 64 * kMiB, ""}});
    ADD_FAILURE() << "created a segment larger than /dev/shm's free space";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot create the shared segment: it needs "), std::string::npos) << what;
    EXPECT_NE(what.find("lower --cache-size"), std::string::npos) << what;
  }
  EXPECT_NE(::access(("/dev/shm/" + name).c_str(), F_OK), 0);  // nothing left behind
  // One that fits is made.
  EXPECT_NE(
      Segment::create(name, static_cast<uint64_t>(::getpid()), {{RegionKind::kCache, 1, kMiB, ""}}),
      nullptr);
}

}  // namespace
}  // namespace zhttp::shm
