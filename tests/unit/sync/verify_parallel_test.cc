// The verifier's bounded fan-out.
#include "sync/verify/parallel.h"

#include <gtest/gtest.h>

#include <set>

namespace georep::verify {
namespace {

TEST(ParallelFor, RunsEveryIndexExactlyOnceOnAtMostTheGivenThreads) {
  std::vector<std::atomic<int>> runs(1000);
  std::mutex mu;
  std::set<int> workers;
  Status st = ParallelFor(runs.size(), 4, [&](size_t i, int w) {
    ++runs[i];
    std::lock_guard<std::mutex> lock(mu);
    workers.insert(w);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok());
  for (auto& r : runs) EXPECT_EQ(r.load(), 1);
  EXPECT_LE(workers.size(), 4u);
  for (int w : workers) EXPECT_TRUE(w >= 0 && w < 4);
}

TEST(ParallelFor, FirstFailureIsReturnedAndStopsNewWork) {
  std::atomic<int> ran{0};
  Status st = ParallelFor(100000, 2, [&](size_t i, int) {
    ++ran;
    return i == 10 ? Status(Code::kIOError, "boom") : Status::Ok();
  });
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_LT(ran.load(), 100000);
}

TEST(ParallelFor, ZeroThreadsMeansOne) {
  int ran = 0;
  EXPECT_TRUE(ParallelFor(3, 0, [&](size_t, int w) {
    EXPECT_EQ(w, 0);
    ++ran;
    return Status::Ok();
  }).ok());
  EXPECT_EQ(ran, 3);
}

TEST(ParallelFor, NoWorkIsOk) {
  EXPECT_TRUE(ParallelFor(0, 8, [](size_t, int) { return Status(Code::kIOError, "never"); }).ok());
}

}  // namespace
}  // namespace georep::verify
