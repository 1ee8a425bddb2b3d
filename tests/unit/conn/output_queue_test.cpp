// The output queue: byte segments gather into iovecs up to the first file segment, and the
// caller learns that a file comes next (the worker then holds the head back with MSG_MORE).
#include "conn/output_queue.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

namespace zhttp::conn {
namespace {

TEST(OutputQueue, GatherStopsAtAFileAndSaysSo) {
  std::vector<char> block(OutputQueue::kRingBytes + 1024);
  OutputQueue q;
  q.attach(block.data(), block.size());
  ASSERT_TRUE(q.append("head", 4));
  ASSERT_TRUE(q.push_file(::dup(0), 0, 10));
  ASSERT_TRUE(q.append("next", 4));
  iovec iov[8];
  bool file_next = false;
  ASSERT_EQ(q.gather(iov, 8, &file_next), 1u);
  EXPECT_TRUE(file_next);
  q.consume(4);
  EXPECT_NE(q.front_file(), nullptr);
  EXPECT_EQ(q.gather(iov, 8, &file_next), 0u);
  q.consume(10);
  ASSERT_EQ(q.gather(iov, 8, &file_next), 1u);
  EXPECT_FALSE(file_next);
  q.consume(4);
  EXPECT_TRUE(q.empty());
  q.detach();
}

}  // namespace
}  // namespace zhttp::conn
