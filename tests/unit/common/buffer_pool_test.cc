// BufferPool: large buffers come back with their size; the pool is bounded.
#include "common/buffer_pool.h"

#include <gtest/gtest.h>

#include <string>

namespace georep {
namespace {

TEST(BufferPool, EmptyPoolHandsOutAnEmptyString) {
  BufferPool pool(2);
  EXPECT_TRUE(pool.Take().empty());
}

TEST(BufferPool, GivenBufferComesBackWithItsSizeAndStorage) {
  BufferPool pool(2);
  std::string b(BufferPool::kMinKeptBytes, 'x');
  const char* storage = b.data();
  pool.Give(std::move(b));
  EXPECT_EQ(pool.kept(), 1u);
  std::string again = pool.Take();
  EXPECT_EQ(again.size(), BufferPool::kMinKeptBytes);
  EXPECT_EQ(again.data(), storage);  // the same allocation: no fresh pages
  EXPECT_EQ(pool.kept(), 0u);
}

TEST(BufferPool, SmallBuffersAreNotKept) {
  BufferPool pool(2);
  pool.Give(std::string(BufferPool::kMinKeptBytes - 1, 'x'));
  EXPECT_EQ(pool.kept(), 0u);
}

TEST(BufferPool, KeepsAtMostMaxBuffers) {
  BufferPool pool(2);
  for (int i = 0; i < 5; ++i) pool.Give(std::string(BufferPool::kMinKeptBytes, 'x'));
  EXPECT_EQ(pool.kept(), 2u);
}

}  // namespace
}  // namespace georep
