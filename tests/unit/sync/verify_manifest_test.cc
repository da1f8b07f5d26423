// The manifest text form: what --manifest-only writes and
// --secondary-manifest reads back.
#include "sync/verify/manifest.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

namespace georep::verify {
namespace {

Manifest Sample() {
  Manifest m;
  m.volume = "gv s";
  m.root = "/";
  m.has_content = true;
  Entry root;
  root.path = "/";
  root.type = EntryType::kDirectory;
  root.mode = 0755;
  root.has_gfid = true;
  root.gfid[15] = 1;
  m.entries.push_back(root);
  Entry f;
  f.path = "/sp ace/new\nline%=é";
  f.type = EntryType::kRegular;
  f.size = 12345;
  f.mode = 04644;
  f.uid = 1000;
  f.gid = 2000;
  f.mtime_ns = -5;
  f.ctime_ns = 1700000000000000001;
  f.nlink = 2;
  f.has_gfid = true;
  f.gfid[0] = 0xfe;
  f.has_digest = true;
  f.digest[31] = 0x7f;
  f.xattrs = {{"system.posix_acl_access", std::string("\x02\x00\x00\x00", 4)},
              {"user.a b", std::string("v\0\n", 3)}};
  m.entries.push_back(f);
  Entry l;
  l.path = "/z";
  l.type = EntryType::kSymlink;
  l.symlink_target = "../with space";
  l.error = "vanished during the scan";
  m.entries.push_back(l);
  Entry c;
  c.path = "/zz";
  c.type = EntryType::kCharDevice;
  c.rdev = 259;
  m.entries.push_back(c);
  return m;
}

std::string Write(const Manifest& m) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  EXPECT_TRUE(WriteManifest(m, f).ok());
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

void ExpectSameEntry(const Entry& a, const Entry& b) {
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.mtime_ns, b.mtime_ns);
  EXPECT_EQ(a.ctime_ns, b.ctime_ns);
  EXPECT_EQ(a.nlink, b.nlink);
  EXPECT_EQ(a.rdev, b.rdev);
  EXPECT_EQ(a.has_gfid, b.has_gfid);
  EXPECT_EQ(a.gfid, b.gfid);
  EXPECT_EQ(a.has_digest, b.has_digest);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.symlink_target, b.symlink_target);
  EXPECT_EQ(a.xattrs, b.xattrs);
  EXPECT_EQ(a.error, b.error);
}

TEST(Manifest, WrittenManifestReadsBackExactly) {
  const Manifest m = Sample();
  const std::string text = Write(m);
  std::istringstream in(text);
  Result<Manifest> back = ReadManifest(in);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
  EXPECT_EQ(back->volume, m.volume);
  EXPECT_EQ(back->root, m.root);
  EXPECT_TRUE(back->has_content);
  ASSERT_EQ(back->entries.size(), m.entries.size());
  for (size_t i = 0; i < m.entries.size(); ++i) ExpectSameEntry(back->entries[i], m.entries[i]);
}

TEST(Manifest, EveryEntryIsOneLine) {
  const std::string text = Write(Sample());
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
}

TEST(Manifest, MalformedLineIsCorruptionNamingTheLine) {
  std::istringstream in("georep-manifest 1 volume=v root=/ content=0\nd / mode=0755\nf /x size=abc\n");
  Result<Manifest> m = ReadManifest(in);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kCorruption);
  EXPECT_NE(m.status().message().find("line 3"), std::string::npos) << m.status().message();
}

TEST(Manifest, MissingHeaderIsCorruption) {
  std::istringstream in("d / mode=0755\n");
  EXPECT_EQ(ReadManifest(in).status().code(), Code::kCorruption);
}

TEST(Manifest, NewerVersionIsRefusedWithAnExplanation) {
  std::istringstream in("georep-manifest 2 volume=v\n");
  Result<Manifest> m = ReadManifest(in);
  EXPECT_EQ(m.status().code(), Code::kFailedPrecondition);
}

TEST(Manifest, UnsortedEntriesAreRejected) {
  std::istringstream in("georep-manifest 1 volume=v root=/ content=0\nd / mode=0755\nf /b\nf /a\n");
  EXPECT_EQ(ReadManifest(in).status().code(), Code::kInvalidArgument);
}

TEST(Manifest, UnknownKeysAreSkipped) {
  std::istringstream in("georep-manifest 1 volume=v root=/ content=0\nd / mode=0755 future=1\n");
  Result<Manifest> m = ReadManifest(in);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->entries[0].mode, 0755u);
}

TEST(Manifest, EscapingCoversSeparatorsAndControlBytes) {
  EXPECT_EQ(EscapeField("a b=c%d\n"), "a%20b%3dc%25d%0a");
  std::string back;
  ASSERT_TRUE(UnescapeField("a%20b%3dc%25d%0a", &back));
  EXPECT_EQ(back, "a b=c%d\n");
  EXPECT_FALSE(UnescapeField("bad%2", &back));
  EXPECT_FALSE(UnescapeField("bad%zz", &back));
}

}  // namespace
}  // namespace georep::verify
