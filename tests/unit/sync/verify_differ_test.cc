// The differ: every attribute it compares, folding of whole subtrees, hard-link
// groups, the options, and its input checks.
#include "sync/verify/differ.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace georep::verify {
namespace {

Gfid MakeGfid(uint8_t n) {
  Gfid g{};
  g[15] = n;
  g[0] = 0xab;
  return g;
}

Entry File(const std::string& path, uint8_t gfid, const std::string& content = "x") {
  Entry e;
  e.path = path;
  e.type = EntryType::kRegular;
  e.size = content.size();
  e.mode = 0644;
  e.uid = 1000;
  e.gid = 1000;
  e.mtime_ns = 1700000000123456789;
  e.nlink = 1;
  e.has_gfid = true;
  e.gfid = MakeGfid(gfid);
  e.has_digest = true;
  e.digest = {};
  std::copy(content.begin(), content.end(), e.digest.begin());
  return e;
}

Entry Dir(const std::string& path, uint8_t gfid) {
  Entry e = File(path, gfid);
  e.type = EntryType::kDirectory;
  e.size = 4096;
  e.mode = 0755;
  e.has_digest = false;
  e.nlink = 2;
  return e;
}

Entry Symlink(const std::string& path, uint8_t gfid, const std::string& target) {
  Entry e = File(path, gfid);
  e.type = EntryType::kSymlink;
  e.size = target.size();
  e.mode = 0777;
  e.has_digest = false;
  e.symlink_target = target;
  return e;
}

std::vector<Entry> Tree() {
  return {Dir("/", 1), Dir("/a", 2), File("/a/f", 3), Symlink("/a/l", 4, "f"), File("/b", 5)};
}

std::vector<Difference> Diff(const std::vector<Entry>& p, const std::vector<Entry>& s,
                             const DiffOptions& o = {}) {
  Result<std::vector<Difference>> r = DiffManifests(p, s, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<Difference>{};
}

Entry& At(std::vector<Entry>& v, const std::string& path) {
  return *std::find_if(v.begin(), v.end(), [&](const Entry& e) { return e.path == path; });
}

// Applies `change` to a copy of the tree and returns the one difference found.
Difference OnlyDifference(const std::string& path, const std::function<void(Entry&)>& change,
                          const DiffOptions& o = {}) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  change(At(s, path));
  std::vector<Difference> d = Diff(p, s, o);
  EXPECT_EQ(d.size(), 1u);
  return d.empty() ? Difference{} : d[0];
}

TEST(Differ, IdenticalTreesHaveNoDifferences) { EXPECT_TRUE(Diff(Tree(), Tree()).empty()); }

TEST(Differ, SizeDifferenceIsReportedWithoutAContentLine) {
  Difference d = OnlyDifference("/a/f", [](Entry& e) {
    e.size = 7;
    e.digest[0] = 'y';
  });
  EXPECT_EQ(FormatDifference(d), "/a/f: size differs: primary 1, secondary 7");
}

TEST(Differ, ContentDifferenceIsReported) {
  Difference d = OnlyDifference("/a/f", [](Entry& e) { e.digest[0] = 'y'; });
  EXPECT_EQ(d.attribute, "content");
  EXPECT_EQ(FormatDifference(d), "/a/f: content differs: primary 7800000000000000, secondary 7900000000000000");
}

TEST(Differ, ContentIsNotComparedWhenEitherSideHasNoDigest) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(s, "/a/f").digest[0] = 'y';
  At(s, "/a/f").has_digest = false;
  EXPECT_TRUE(Diff(p, s).empty());
}

TEST(Differ, ContentComparisonCanBeTurnedOff) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(s, "/a/f").digest[0] = 'y';
  DiffOptions o;
  o.compare_content = false;
  EXPECT_TRUE(Diff(p, s, o).empty());
}

TEST(Differ, ModeDifferenceIsReportedInOctal) {
  Difference d = OnlyDifference("/b", [](Entry& e) { e.mode = 04600; });
  EXPECT_EQ(FormatDifference(d), "/b: mode differs: primary 0644, secondary 4600");
}

TEST(Differ, UidDifferenceIsReported) {
  Difference d = OnlyDifference("/b", [](Entry& e) { e.uid = 0; });
  EXPECT_EQ(FormatDifference(d), "/b: uid differs: primary 1000, secondary 0");
}

TEST(Differ, GidDifferenceIsReported) {
  Difference d = OnlyDifference("/b", [](Entry& e) { e.gid = 5; });
  EXPECT_EQ(FormatDifference(d), "/b: gid differs: primary 1000, secondary 5");
}

TEST(Differ, MtimeDifferenceIsReportedToTheNanosecond) {
  Difference d = OnlyDifference("/b", [](Entry& e) { e.mtime_ns += 1; });
  EXPECT_EQ(FormatDifference(d),
            "/b: mtime differs: primary 2023-11-14T22:13:20.123456789Z, secondary "
            "2023-11-14T22:13:20.123456790Z");
}

TEST(Differ, SymlinkTargetDifferenceIsReported) {
  Difference d = OnlyDifference("/a/l", [](Entry& e) { e.symlink_target = "g"; });
  EXPECT_EQ(FormatDifference(d), "/a/l: symlink target differs: primary \"f\", secondary \"g\"");
}

TEST(Differ, DeviceNumberDifferenceIsReported) {
  std::vector<Entry> p = Tree();
  Entry dev = File("/c", 9);
  dev.type = EntryType::kCharDevice;
  dev.has_digest = false;
  dev.rdev = 0x0103;
  p.push_back(dev);
  std::vector<Entry> s = p;
  s.back().rdev = 0x0105;
  std::vector<Difference> d = Diff(p, s);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].attribute, "rdev");
}

TEST(Differ, GfidDifferenceIsReportedUnlessIgnored) {
  Difference d = OnlyDifference("/b", [](Entry& e) { e.gfid = MakeGfid(77); });
  EXPECT_EQ(FormatDifference(d),
            "/b: gfid differs: primary ab000000-0000-0000-0000-000000000005, secondary "
            "ab000000-0000-0000-0000-00000000004d");
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(s, "/b").gfid = MakeGfid(77);
  DiffOptions o;
  o.compare_gfid = false;
  EXPECT_TRUE(Diff(p, s, o).empty());
}

TEST(Differ, XattrValueAbsenceAndExtraAreEachReported) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(p, "/b").xattrs = {{"user.a", "1"}, {"user.b", "2"}};
  At(s, "/b").xattrs = {{"user.b", "3"}, {"user.c", std::string("\x00\x01", 2)}};
  std::vector<Difference> d = Diff(p, s);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(FormatDifference(d[0]), "/b: xattr user.a differs: primary \"1\", secondary (absent)");
  EXPECT_EQ(FormatDifference(d[1]), "/b: xattr user.b differs: primary \"2\", secondary \"3\"");
  EXPECT_EQ(FormatDifference(d[2]), "/b: xattr user.c differs: primary (absent), secondary 0x0001");
  DiffOptions o;
  o.compare_xattrs = false;
  EXPECT_TRUE(Diff(p, s, o).empty());
}

TEST(Differ, AclDifferenceIsShownDecoded) {
  // version 2; user::rw-, user:1234:r--, group::r--, mask::r--, other::r--
  const std::string acl_r(
      "\x02\x00\x00\x00"
      "\x01\x00\x06\x00\xff\xff\xff\xff"
      "\x02\x00\x04\x00\xd2\x04\x00\x00"
      "\x04\x00\x04\x00\xff\xff\xff\xff"
      "\x10\x00\x04\x00\xff\xff\xff\xff"
      "\x20\x00\x04\x00\xff\xff\xff\xff",
      44);
  std::string acl_rw = acl_r;
  acl_rw[14] = 6;  // user:1234 gets rw-
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(p, "/b").xattrs = {{"system.posix_acl_access", acl_r}};
  At(s, "/b").xattrs = {{"system.posix_acl_access", acl_rw}};
  std::vector<Difference> ds = Diff(p, s);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(FormatDifference(ds[0]),
            "/b: xattr system.posix_acl_access differs: primary "
            "user::rw-,user:1234:r--,group::r--,mask::r--,other::r--, secondary "
            "user::rw-,user:1234:rw-,group::r--,mask::r--,other::r--");
}

TEST(Differ, DirectoryMtimeIsIgnoredUnlessAskedFor) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(s, "/a").mtime_ns += 5;
  EXPECT_TRUE(Diff(p, s).empty());
  DiffOptions o;
  o.compare_dir_mtime = true;
  std::vector<Difference> d = Diff(p, s, o);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].attribute, "mtime");
}

TEST(Differ, DirectorySizeIsNeverCompared) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(s, "/a").size = 8192;
  EXPECT_TRUE(Diff(p, s).empty());
}

TEST(Differ, MissingFileIsReported) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  s.pop_back();
  std::vector<Difference> d = Diff(p, s);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(FormatDifference(d[0]), "/b: missing on secondary (file)");
}

TEST(Differ, MissingDirectoryFoldsItsSubtree) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = {Dir("/", 1), File("/b", 5)};
  std::vector<Difference> d = Diff(p, s);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(FormatDifference(d[0]), "/a: missing on secondary (directory, with 2 entries below it)");
}

TEST(Differ, ExtraDirectoryFoldsItsSubtree) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  s.insert(s.begin() + 4, {Dir("/a2", 20), File("/a2/x", 21)});
  std::vector<Difference> d = Diff(p, s);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(FormatDifference(d[0]), "/a2: extra on secondary (directory, with 1 entry below it)");
}

TEST(Differ, TypeChangeFoldsTheDirectorySideAndSkipsOtherAttributes) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = {Dir("/", 1), File("/a", 2), File("/b", 5)};
  s[1].mode = 0600;
  std::vector<Difference> d = Diff(p, s);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(FormatDifference(d[0]),
            "/a: type differs: primary directory, secondary file (with 2 entries below it not compared)");
}

TEST(Differ, EntryAfterAFoldedSubtreeIsStillCompared) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = {Dir("/", 1), File("/b", 5)};
  s[1].uid = 0;
  std::vector<Difference> d = Diff(p, s);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].path, "/b");
  EXPECT_EQ(d[1].attribute, "uid");
}

TEST(Differ, UnreadableEntryIsReportedInsteadOfItsAttributes) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(s, "/b").error = "vanished during the scan";
  At(s, "/b").uid = 0;
  std::vector<Difference> d = Diff(p, s);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(FormatDifference(d[0]), "/b: could not be read on secondary (vanished during the scan)");
}

TEST(Differ, BrokenHardLinkGroupIsReported) {
  // Primary: /a/f and /b are one file. Secondary: two separate files.
  std::vector<Entry> p = Tree();
  At(p, "/b").gfid = At(p, "/a/f").gfid;
  At(p, "/b").nlink = At(p, "/a/f").nlink = 2;
  std::vector<Entry> s = p;
  At(s, "/b").gfid = MakeGfid(50);
  At(s, "/b").nlink = At(s, "/a/f").nlink = 1;
  DiffOptions o;
  o.compare_gfid = false;  // the GFID line is checked elsewhere
  std::vector<Difference> d = Diff(p, s, o);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(FormatDifference(d[0]),
            "/a/f: hard links differ: on primary linked with /b, on secondary with no other path");
}

TEST(Differ, HardLinksOnlyOnTheSecondaryAreReported) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(s, "/b").gfid = At(s, "/a/f").gfid;
  At(s, "/b").nlink = At(s, "/a/f").nlink = 2;
  DiffOptions o;
  o.compare_gfid = false;
  std::vector<Difference> d = Diff(p, s, o);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, DiffKind::kLinkGroup);
  EXPECT_EQ(d[0].secondary, "/b");
}

TEST(Differ, SameHardLinkGroupsWithDifferentGfidsAreEqualGroups) {
  std::vector<Entry> p = Tree();
  At(p, "/b").gfid = At(p, "/a/f").gfid;
  At(p, "/b").nlink = At(p, "/a/f").nlink = 2;
  std::vector<Entry> s = p;
  At(s, "/b").gfid = At(s, "/a/f").gfid = MakeGfid(60);
  DiffOptions o;
  o.compare_gfid = false;
  EXPECT_TRUE(Diff(p, s, o).empty());
}

TEST(Differ, WalkOnlyComparisonSkipsWhatAWalkDoesNotReturn) {
  std::vector<Entry> p = Tree();
  std::vector<Entry> s = Tree();
  At(s, "/a").mode = 0700;                     // directory attribute: one brick's view
  At(s, "/a/l").symlink_target = "elsewhere";  // needs a readlink
  At(s, "/b").xattrs = {{"user.x", "1"}};      // needs a listxattr
  DiffOptions o;
  o.walk_only = true;
  EXPECT_TRUE(Diff(p, s, o).empty());
  At(s, "/b").uid = 0;  // file stats come with the walk
  std::vector<Difference> d = Diff(p, s, o);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].attribute, "uid");
}

TEST(Differ, UnsortedInputIsRejected) {
  std::vector<Entry> p = Tree();
  std::swap(p[1], p[2]);
  Result<std::vector<Difference>> r = DiffManifests(p, Tree(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("primary"), std::string::npos);
}

TEST(Differ, DuplicatePathIsRejected) {
  std::vector<Entry> s = Tree();
  s.push_back(s.back());
  EXPECT_FALSE(DiffManifests(Tree(), s, {}).ok());
}

TEST(Differ, ComponentOrderNotByteOrderIsExpected) {
  // Bytewise, "/a.b" < "/a/x" ('.' < '/'); a depth-first walk gives /a/x first.
  std::vector<Entry> t = {Dir("/", 1), Dir("/a", 2), File("/a/x", 3), File("/a.b", 4)};
  EXPECT_TRUE(Diff(t, t).empty());
}

TEST(Differ, ControlCharactersInPathsAreEscapedInOutput) {
  Difference d;
  d.kind = DiffKind::kExtraOnSecondary;
  d.path = "/new\nline";
  d.secondary = "file";
  EXPECT_EQ(FormatDifference(d), "/new\\x0aline: extra on secondary (file)");
}

}  // namespace
}  // namespace georep::verify
