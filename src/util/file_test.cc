#include "util/file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace onceflow {
namespace {

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/onceflow-file-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { RemoveAll(dir_).IgnoreError(); }  // best effort clean-up
  std::string dir_;
};

TEST_F(FileTest, VectoredWriteThenRead) {
  auto f = File::Open(JoinPath(dir_, "a"), File::Mode::kCreate);
  ASSERT_TRUE(f.has_value());
  std::string a = "hello ", b = "world";
  iovec v[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  ASSERT_TRUE(f->WriteAt(3, std::span<const iovec>(v, 2)).ok());
  ASSERT_TRUE(f->Sync().ok());
  std::string out(20, 'x');
  auto n = f->ReadAt(0, out.size(), out.data());
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 14U);
  EXPECT_EQ(out.substr(3, 11), "hello world");
}

TEST_F(FileTest, AtomicReplace) {
  std::string p = JoinPath(dir_, "meta");
  ASSERT_TRUE(WriteFileAtomically(p, "one").ok());
  ASSERT_TRUE(WriteFileAtomically(p, "two").ok());
  EXPECT_EQ(ReadFileToString(p).value(), "two");
  EXPECT_FALSE(PathExists(p + ".tmp"));
}

TEST_F(FileTest, FailedAtomicReplaceLeavesNoTemporaryFile) {
  // The target is a non-empty directory: the rename over it fails after the temporary file
  // was written (as a full disk fails the write of epoch.tmp).
  std::string p = JoinPath(dir_, "epoch");
  ASSERT_TRUE(CreateDirs(JoinPath(p, "inside")).ok());
  EXPECT_FALSE(WriteFileAtomically(p, "7\n").ok());
  EXPECT_FALSE(PathExists(p + ".tmp"));
}

TEST_F(FileTest, MissingFileIsNotFoundAndNamesThePath) {
  auto f = File::Open(JoinPath(dir_, "nope"), File::Mode::kReadOnly);
  ASSERT_FALSE(f.has_value());
  EXPECT_TRUE(f.error().IsNotFound());
  EXPECT_NE(f.error().message().find("nope"), std::string::npos);
}

TEST_F(FileTest, ReadOnlyFileSystemIsNamedAsSuch) {
  Status s = ErrnoStatus("open", "/mnt/ro/x", EROFS);
  EXPECT_TRUE(s.IsIoError());
  EXPECT_EQ(s.message(), "read-only file system: /mnt/ro/x (open)");
  // On a real read-only mount when this process may make one (root); else the mapping above.
  const std::string ro = JoinPath(dir_, "ro");
  ASSERT_TRUE(CreateDirs(ro).ok());
  if (std::system(("mount -t tmpfs -o ro tmpfs " + ro + " 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "cannot mount a read-only tmpfs here (not root?)";
  }
  auto f = File::Open(JoinPath(ro, "x"), File::Mode::kCreate);
  Status dirs = CreateDirs(JoinPath(ro, "a/b"));
  EXPECT_EQ(std::system(("umount " + ro).c_str()), 0);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().message(), "read-only file system: " + JoinPath(ro, "x") + " (open)");
  EXPECT_EQ(dirs.message(),
            "read-only file system: " + JoinPath(ro, "a/b") + " (create directory)");
}

}  // namespace
}  // namespace onceflow
