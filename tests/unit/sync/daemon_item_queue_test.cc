// ItemQueue: the producer/sender hand-off of a georepd worker
// (sync/daemon/item_queue.h).
#include "sync/daemon/item_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace georep::daemon {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

QueueItem Batch() {
  QueueItem item;
  item.batch = std::make_unique<protocol::Batch>();
  return item;
}
QueueItem Marker() { return QueueItem{}; }

TEST(ItemQueue, MarkersDoNotTakeTheRoomOfBatches) {
  ItemQueue q(2);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(q.Push(Batch(), stop));
  for (size_t i = 0; i < ItemQueue::kMarkersPerBatch * 2; ++i) ASSERT_TRUE(q.Push(Marker(), stop));
  // Room for the second batch although many markers are queued.
  ASSERT_TRUE(q.Push(Batch(), stop));
  auto first = q.Pop(milliseconds(0));
  ASSERT_TRUE(first.has_value());
  EXPECT_NE(first->batch, nullptr);
}

TEST(ItemQueue, WaitForPendingReturnsAtOnceWhenLittleIsPending) {
  ItemQueue q(8);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(q.Push(Batch(), stop));
  q.SetInflight(0);
  const auto t0 = Clock::now();
  q.WaitForPendingAtMost(1, milliseconds(5000), stop);
  EXPECT_LT(Clock::now() - t0, milliseconds(2000));
}

TEST(ItemQueue, WaitForPendingCountsBatchesInFlight) {
  ItemQueue q(8);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(q.Push(Batch(), stop));
  q.SetInflight(3);  // 4 pending
  std::thread sender([&] {
    std::this_thread::sleep_for(milliseconds(50));
    q.SetInflight(2);  // 3 pending: still waiting
    std::this_thread::sleep_for(milliseconds(50));
    ASSERT_TRUE(q.Pop(milliseconds(0)).has_value());
    q.SetInflight(1);  // 1 pending: the wait ends
  });
  const auto t0 = Clock::now();
  q.WaitForPendingAtMost(1, milliseconds(10000), stop);
  const auto waited = Clock::now() - t0;
  sender.join();
  EXPECT_GE(waited, milliseconds(90));
  EXPECT_LT(waited, milliseconds(5000));
}

TEST(ItemQueue, WaitForPendingGivesUpAfterItsBound) {
  ItemQueue q(8);
  std::atomic<bool> stop{false};
  q.SetInflight(8);  // a sender that never hears back
  const auto t0 = Clock::now();
  q.WaitForPendingAtMost(1, milliseconds(150), stop);
  EXPECT_GE(Clock::now() - t0, milliseconds(150));
}

TEST(ItemQueue, WaitForPendingEndsOnStopOrClose) {
  ItemQueue q(8);
  std::atomic<bool> stop{false};
  q.SetInflight(8);
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(30));
    stop = true;
  });
  const auto t0 = Clock::now();
  q.WaitForPendingAtMost(1, milliseconds(10000), stop);
  stopper.join();
  EXPECT_LT(Clock::now() - t0, milliseconds(5000));

  ItemQueue closed(8);
  std::atomic<bool> running{false};
  closed.SetInflight(8);
  closed.Close();
  const auto t1 = Clock::now();
  closed.WaitForPendingAtMost(1, milliseconds(10000), running);
  EXPECT_LT(Clock::now() - t1, milliseconds(2000));
}

}  // namespace
}  // namespace georep::daemon
