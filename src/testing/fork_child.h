// InChild: a function run in a forked child of the test process, for tests whose subject must
// not survive in the parent (power-loss tracking once on, a crash at a fault point, RocksDB's
// thread pools before a fork).
#pragma once

#include <functional>

namespace onceflow::testing {

// Forks, runs `fn` in the child and ends the child with what it returned (_exit: no atexit
// handlers, no destructors of the parent's objects). Returns the child's exit code, or 128 + the
// signal that killed it.
// REQUIRES: the parent has no other threads that the child's `fn` needs.
int InChild(const std::function<int()>& fn);

}  // namespace onceflow::testing
