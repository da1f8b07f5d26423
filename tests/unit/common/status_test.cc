// Status, Result and the one errno table.
#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

namespace georep {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_FALSE(s.retryable());
  EXPECT_EQ(s.err(), 0);
}

TEST(Status, FromErrnoKeepsErrnoAndNamesContext) {
  Status s = Status::FromErrno(ENOENT, "open /x/y");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_EQ(s.message(), "open /x/y: No such file or directory");
  EXPECT_EQ(s.ToString(), "NOT_FOUND: open /x/y: No such file or directory");
}

TEST(Status, AnnotatePrefixesContextAndKeepsCodeAndErrno) {
  Status s = Status::FromErrno(ENOSPC, "write seg").Annotate("journal");
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.err(), ENOSPC);
  EXPECT_EQ(s.message().rfind("journal: write seg: ", 0), 0u) << s.message();
  EXPECT_TRUE(Status::Ok().Annotate("x").ok());
  EXPECT_EQ(Status::Ok().Annotate("x").message(), "");
}

TEST(Status, OnlyUnavailableAndAbortedAreRetryable) {
  EXPECT_TRUE(Status(Code::kUnavailable, "x").retryable());
  EXPECT_TRUE(Status(Code::kAborted, "x").retryable());
  for (Code c : {Code::kFailedPrecondition, Code::kInvalidArgument, Code::kNotFound,
                 Code::kAlreadyExists, Code::kCorruption, Code::kResourceExhausted,
                 Code::kPermissionDenied, Code::kIOError}) {
    EXPECT_FALSE(Status(c, "x").retryable()) << CodeName(c);
  }
}

TEST(ErrnoToCode, MapsEachFamilyToWhatTheCallerShouldDo) {
  struct Case {
    int err;
    Code code;
  } cases[] = {
      {0, Code::kOk},
      {EAGAIN, Code::kUnavailable},      {EINTR, Code::kUnavailable},
      {ETIMEDOUT, Code::kUnavailable},   {ECONNRESET, Code::kUnavailable},
      {ENOTCONN, Code::kUnavailable},    {EPIPE, Code::kUnavailable},
      {ESTALE, Code::kUnavailable},      {ENOENT, Code::kNotFound},
      {ENODATA, Code::kNotFound},        {EEXIST, Code::kAlreadyExists},
      {ENOTEMPTY, Code::kAlreadyExists}, {EINVAL, Code::kInvalidArgument},
      {ENAMETOOLONG, Code::kInvalidArgument}, {EISDIR, Code::kInvalidArgument},
      {EACCES, Code::kPermissionDenied}, {EPERM, Code::kPermissionDenied},
      {ENOSPC, Code::kResourceExhausted}, {EDQUOT, Code::kResourceExhausted},
      {ENOMEM, Code::kResourceExhausted}, {EFBIG, Code::kResourceExhausted},
      {EROFS, Code::kFailedPrecondition}, {ENOTSUP, Code::kFailedPrecondition},
      {EBADMSG, Code::kCorruption},      {EIO, Code::kIOError},
      {EXDEV, Code::kIOError},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ErrnoToCode(c.err), c.code) << "errno " << c.err << " got " << CodeName(ErrnoToCode(c.err));
  }
}

TEST(CodeName, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(Code::kIOError); c++) {
    EXPECT_STRNE(CodeName(static_cast<Code>(c)), "UNKNOWN") << c;
  }
}

Result<int> Half(int v) {
  if (v % 2 != 0) return Status(Code::kInvalidArgument, "odd");
  return v / 2;
}

Status UsesReturnIfError(int v, int* out) {
  GEOREP_RETURN_IF_ERROR(Half(v).status());
  *out = *Half(v);
  return Status::Ok();
}

TEST(Result, HoldsAValueOrAStatus) {
  auto r = Half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 4);
  EXPECT_TRUE(r.status().ok());
  auto bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  Result<std::unique_ptr<int>> moved(std::make_unique<int>(5));
  std::unique_ptr<int> p = std::move(moved).value();
  EXPECT_EQ(*p, 5);
}

TEST(Result, ReturnIfErrorPropagatesFailureAndContinuesOnSuccess) {
  int out = 0;
  EXPECT_EQ(UsesReturnIfError(3, &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(out, 0);
  EXPECT_TRUE(UsesReturnIfError(10, &out).ok());
  EXPECT_EQ(out, 5);
}

}  // namespace
}  // namespace georep
