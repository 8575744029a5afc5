// TempDir: a fresh directory under /tmp for one test, removed with everything in it when the
// object goes out of scope.
#pragma once

#include <string>

namespace onceflow::testing {

// A directory made by mkdtemp(3) ("/tmp/onceflow-<prefix>-XXXXXX"). The constructor fails the
// current test (and leaves path() empty) if the directory cannot be made. Not thread-safe; the
// directory is removed by the destructor unless Keep() was called (to look at a failure).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "test");
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `path()/name`.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }
  // Leaves the directory in place at destruction.
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

}  // namespace onceflow::testing
