// TempDir: mkdtemp at construction, a recursive removal at destruction.
#include "testing/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <vector>

#include "util/file.h"

namespace onceflow::testing {

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/onceflow-" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
    return;
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_.empty() || keep_) return;
  RemoveAll(path_).IgnoreError();  // best effort: a leftover directory in /tmp harms no test
}

}  // namespace onceflow::testing
