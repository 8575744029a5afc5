// The parts of the native module onceflow._onceflow, registered by module.cc.
#pragma once

#include <nanobind/nanobind.h>

#include <stdexcept>
#include <string>

#include "onceflow/status.h"

namespace onceflow::python {

namespace nb = nanobind;

// Raised to Python as onceflow.Error with the engine's one-line message.
class EngineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws EngineError(s.message()) unless s is ok.
inline void ThrowIfError(const Status& s) {
  if (!s.ok()) throw EngineError(s.message());
}

void RegisterContext(nb::module_& m);
void RegisterPipeline(nb::module_& m);
void RegisterLog(nb::module_& m);

}  // namespace onceflow::python
