// Simulated power loss through the File layer: exactly the unsynced changes are forgotten.
#include "util/power_loss.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "util/fault_points.h"
#include "util/file.h"

namespace onceflow {
namespace {

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/onceflow-power-loss-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    power_loss::Enable();
    ASSERT_TRUE(power_loss::Forget().ok());  // nothing pending from an earlier test
  }
  void TearDown() override {
    (void)power_loss::Forget();
    faults::DisarmAll();
    RemoveAll(dir_).IgnoreError();
  }
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }
  std::string Read(const std::string& name) const {
    auto r = ReadFileToString(Path(name));
    return r.has_value() ? *r : "<missing>";
  }

  std::string dir_;
};

TEST_F(PowerLossTest, UnsyncedAppendsAreCutAndSyncedOnesStay) {
  {
    auto f = File::Open(Path("a"), File::Mode::kCreate);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(SyncDir(dir_).ok());  // the creation is durable
    ASSERT_TRUE(f->WriteAt(0, "durable|").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->WriteAt(8, "lost").ok());
  }
  EXPECT_EQ(Read("a"), "durable|lost");
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Read("a"), "durable|");
  EXPECT_EQ(power_loss::PendingChanges(), 0u);
}

TEST_F(PowerLossTest, UnsyncedOverwritesGetTheirOldBytesBack) {
  {
    auto f = File::Open(Path("a"), File::Mode::kCreate);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(0, "0123456789").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(SyncDir(dir_).ok());
    ASSERT_TRUE(f->WriteAt(2, "ab").ok());
    ASSERT_TRUE(f->WriteAt(3, "XYZ").ok());  // overlaps the first overwrite
    ASSERT_TRUE(f->Truncate(5).ok());
    ASSERT_TRUE(f->WriteAt(8, "!").ok());  // past the end after the truncation
  }
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Read("a"), "0123456789");
}

TEST_F(PowerLossTest, AFileWhoseCreationWasNotSyncedVanishesEvenIfItsDataWas) {
  {
    auto f = File::Open(Path("new"), File::Mode::kCreate);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(0, "data").ok());
    ASSERT_TRUE(f->Sync().ok());  // fdatasync does not make the directory entry durable
  }
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_FALSE(PathExists(Path("new")));
}

TEST_F(PowerLossTest, AnAtomicReplaceIsOldOrNewNeverTorn) {
  ASSERT_TRUE(WriteFileAtomically(Path("cp"), "old").ok());
  // Durable: WriteFileAtomically syncs the directory at the end.
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Read("cp"), "old");

  // The same steps without the final directory fsync: the rename may be undone.
  {
    auto f = File::Open(Path("cp.tmp"), File::Mode::kCreate);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(0, "new").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(RenameFile(Path("cp.tmp"), Path("cp")).ok());
  EXPECT_EQ(Read("cp"), "new");
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Read("cp"), "old");
  EXPECT_FALSE(PathExists(Path("cp.tmp")));
}

TEST_F(PowerLossTest, AnUnsyncedRemovalIsUndoneWithTheDurableContents) {
  {
    auto f = File::Open(Path("seg"), File::Mode::kCreate);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(0, "kept").ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(SyncDir(dir_).ok());
    ASSERT_TRUE(f->WriteAt(4, "+unsynced").ok());
  }
  ASSERT_TRUE(RemoveFile(Path("seg")).ok());
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Read("seg"), "kept");
}

TEST_F(PowerLossTest, ADirectoryFsyncMakesCreationsDurable) {
  ASSERT_TRUE(CreateDirs(Path("t/p0")).ok());
  {
    auto f = File::Open(Path("t/p0/x"), File::Mode::kCreate);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(0, "x").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  // `x` was created in t/p0, which was never synced since: it may vanish, its directory not.
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_TRUE(PathExists(Path("t/p0")));
  EXPECT_FALSE(PathExists(Path("t/p0/x")));

  {
    auto f = File::Open(Path("t/p0/x"), File::Mode::kCreate);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->WriteAt(0, "x").ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(SyncDir(Path("t/p0")).ok());
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_EQ(Read("t/p0/x"), "x");
}

// CreateDirs fsyncs the parent of every level it creates: a file synced in the deepest one
// does not vanish with a directory entry nobody synced (the data directory, `pipelines/`, ...).
TEST_F(PowerLossTest, CreateDirsIsDurable) {
  ASSERT_TRUE(CreateDirs(Path("data/pipelines/p/offsets/")).ok());
  EXPECT_EQ(power_loss::PendingChanges(), 0u);
  ASSERT_TRUE(power_loss::Forget().ok());
  EXPECT_TRUE(PathExists(Path("data/pipelines/p/offsets")));
}

TEST_F(PowerLossTest, InjectedIoErrorsFailTheCallAndNameThePath) {
  ASSERT_TRUE(faults::Arm("file_sync=eio#1,file_write=enospc#2").ok());
  auto f = File::Open(Path("a"), File::Mode::kCreate);
  ASSERT_TRUE(f.has_value());
  ASSERT_TRUE(f->WriteAt(0, "one").ok());
  Status s = f->Sync();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find(Path("a")), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("Input/output error"), std::string::npos) << s.ToString();
  s = f->WriteAt(3, "two");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("No space left on device"), std::string::npos) << s.ToString();
  EXPECT_TRUE(f->WriteAt(3, "two").ok());  // #2 fired once
  EXPECT_TRUE(f->Sync().ok());
}

TEST(PowerLossDeathTest, APowerLossFaultForgetsAndExitsWithItsCode) {
  char tmpl[] = "/tmp/onceflow-power-loss-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = JoinPath(dir, "a");
  EXPECT_EXIT(
      {
        if (!faults::Arm("file_sync=power_loss#2").ok()) std::exit(1);
        auto f = File::Open(path, File::Mode::kCreate);
        if (!f.has_value() || !SyncDir(dir).ok()) std::exit(1);  // sync #1: the creation
        if (!f->WriteAt(0, "unsynced").ok()) std::exit(1);
        (void)f->Sync();  // sync #2: the power goes out before it
        std::exit(2);
      },
      ::testing::ExitedWithCode(power_loss::kExitCode), "power loss at fault point file_sync");
  auto contents = ReadFileToString(path);
  ASSERT_TRUE(contents.has_value());
  EXPECT_EQ(*contents, "");
  RemoveAll(dir).IgnoreError();
}

}  // namespace
}  // namespace onceflow
