// onceflow._onceflow: the native half of the Python package onceflow (python/onceflow is the
// other): the pipeline builder, the running pipeline, the embedded log.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cstdio>
#include <cstdlib>

#include "binding.h"
#include "util/fault_points.h"

namespace nb = nanobind;

NB_MODULE(_onceflow, m) {
  m.doc() = "The native half of onceflow: use the package onceflow, not this module.";
  // A pipeline alive at interpreter exit (a script's global) holds Python functions; nanobind
  // would report it as a leak.
  nb::set_leak_warnings(false);
  nb::exception<onceflow::python::EngineError>(m, "Error");
  onceflow::python::RegisterContext(m);
  onceflow::python::RegisterPipeline(m);
  onceflow::python::RegisterLog(m);
  // Fault points armed from ONCEFLOW_FAULTS, as the onceflow command does (crash tests).
  if (const char* spec = std::getenv("ONCEFLOW_FAULTS"); spec != nullptr && *spec != '\0') {
    onceflow::Status s = onceflow::faults::ArmFromEnvironment();
    if (!s.ok()) throw onceflow::python::EngineError("ONCEFLOW_FAULTS: " + s.message());
  }
}
