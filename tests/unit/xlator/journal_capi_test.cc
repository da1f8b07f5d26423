// journal_capi.cc over the real journal: the C face must hand the writer's
// operator-facing messages to the C callback the glue gives it (the brick log),
// not to glusterfsd's discarded stderr.
#include "xlator/journal_capi.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "journal/consumers.h"
#include "journal/format.h"
#include "journal_test_util.h"

namespace {

using georep::journal::ConsumerRegistry;
using georep::journal::kBlockSize;
using georep::journal::testing::ScratchBrick;

struct Collected {
  std::mutex mu;  // the journal may call from its sync thread too
  std::vector<std::string> messages;
};

extern "C" void Collect(void* cookie, const char* message) {
  auto* c = static_cast<Collected*>(cookie);
  std::lock_guard<std::mutex> l(c->mu);
  c->messages.emplace_back(message);
}

georep_journal_options CapOptions(const ScratchBrick& b) {
  georep_journal_options o{};
  o.brick_path = b.path().c_str();
  o.brick_id = "test:brick";
  o.segment_size = kBlockSize;
  o.max_journal_size = 2 * kBlockSize;
  o.fsync_policy = GEOREP_FSYNC_NEVER;
  o.fsync_interval_ms = 1000;
  o.record_internal = 1;
  return o;
}

georep_event WriteEvent(uint64_t offset) {
  georep_event ev{};
  ev.op = GEOREP_OP_WRITE;
  ev.origin = GEOREP_ORIGIN_CLIENT;
  ev.gfid[15] = 7;
  ev.offset = offset;
  ev.length = 4096;
  ev.name = "a-name-long-enough-to-fill-segments-quickly";
  return ev;
}

// Appends until the lagging consumer is marked for resync (bounded).
void AppendUntilResync(georep_journal_t* j, const ScratchBrick& b) {
  ConsumerRegistry reg(b.path());
  for (uint64_t i = 0; i < 20000; i++) {
    georep_event ev = WriteEvent(i * 4096);
    ASSERT_EQ(georep_journal_append(j, &ev), 0);
    if (i % 100 == 99) {
      auto list = reg.List();
      ASSERT_TRUE(list.ok());
      if (!list->empty() && (*list)[0].resync.has_value()) return;
    }
  }
  FAIL() << "the size cap never marked the lagging consumer for resync";
}

TEST(JournalCapi, SizeCapResyncWarningReachesTheCallback) {
  ScratchBrick b;
  Collected got;
  georep_journal_options o = CapOptions(b);
  o.on_warning = Collect;
  o.warning_cookie = &got;
  georep_journal_t* j = nullptr;
  char err[256] = "";
  ASSERT_EQ(georep_journal_open(&o, &j, err, sizeof(err)), 0) << err;
  ASSERT_TRUE(ConsumerRegistry(b.path()).Register("lagging", 0).ok());

  AppendUntilResync(j, b);
  georep_journal_close(j);

  std::lock_guard<std::mutex> l(got.mu);
  ASSERT_FALSE(got.messages.empty());
  bool found = false;
  for (const auto& m : got.messages) {
    if (m.find("'lagging'") != std::string::npos && m.find("full resync") != std::string::npos)
      found = true;
  }
  EXPECT_TRUE(found) << got.messages[0];
}

TEST(JournalCapi, ReconfigureKeepsTheCallbackGivenAtOpen) {
  ScratchBrick b;
  Collected got;
  georep_journal_options o = CapOptions(b);
  o.max_journal_size = 0;
  o.on_warning = Collect;
  o.warning_cookie = &got;
  georep_journal_t* j = nullptr;
  char err[256] = "";
  ASSERT_EQ(georep_journal_open(&o, &j, err, sizeof(err)), 0) << err;
  ASSERT_TRUE(ConsumerRegistry(b.path()).Register("lagging", 0).ok());

  // A reconfigure without a callback must not silence the brick log.
  georep_journal_options r = CapOptions(b);
  ASSERT_EQ(georep_journal_reconfigure(j, &r, err, sizeof(err)), 0) << err;
  AppendUntilResync(j, b);
  georep_journal_close(j);

  std::lock_guard<std::mutex> l(got.mu);
  EXPECT_FALSE(got.messages.empty());
}

}  // namespace
