#include "stat_segment.hpp"

namespace zhttp::stat {

using Error = shm::SegmentView::Error;
static_assert(static_cast<int>(Error::kSystem) == kExitError);
static_assert(static_cast<int>(Error::kBadName) == kExitUsage);
static_assert(static_cast<int>(Error::kNoSegment) == kExitNoSegment);
static_assert(static_cast<int>(Error::kPermission) == kExitPermission);
static_assert(static_cast<int>(Error::kLayout) == kExitLayout);
static_assert(static_cast<int>(Error::kNotReady) == kExitNotReady);

std::unique_ptr<shm::SegmentView> open_segment(const std::string& name, Failure* failure) {
  shm::SegmentView::Failure why;
  std::unique_ptr<shm::SegmentView> view = shm::SegmentView::open(name, &why);
  if (view == nullptr) *failure = {static_cast<int>(why.error), "zhttpstat: " + why.message};
  return view;
}

}  // namespace zhttp::stat
