// NativeLog: the embedded log of a data directory (topics, produce, consume) for
// python/onceflow/log.py. Produce and consume run without the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "binding.h"
#include "log/topic.h"
#include "onceflow/producer.h"
#include "onceflow/topic.h"
#include "rows.h"

namespace onceflow::python {
namespace {

struct NativeLog {
  std::string data_dir;
};

// A value as str when it is UTF-8, else as bytes.
nb::object ValueObject(const std::string& v) {
  PyObject* o = PyUnicode_DecodeUTF8(v.data(), Py_ssize_t(v.size()), "strict");
  if (o == nullptr) {
    PyErr_Clear();
    o = PyBytes_FromStringAndSize(v.data(), Py_ssize_t(v.size()));
  }
  return nb::steal(o);
}

// str or bytes as bytes, else EngineError naming the index.
std::string Bytes(nb::handle o, const char* what, size_t index) {
  if (PyUnicode_Check(o.ptr())) {
    Py_ssize_t len = 0;
    const char* s = PyUnicode_AsUTF8AndSize(o.ptr(), &len);
    if (s == nullptr) throw nb::python_error();
    return std::string(s, size_t(len));
  }
  if (PyBytes_Check(o.ptr())) {
    return std::string(PyBytes_AS_STRING(o.ptr()), size_t(PyBytes_GET_SIZE(o.ptr())));
  }
  throw EngineError(std::string(what) + "[" + std::to_string(index) +
                    "]: expected str or bytes, got " + Py_TYPE(o.ptr())->tp_name);
}

std::unique_ptr<Topic> OpenTopic(const NativeLog& log, const std::string& name, bool read_only) {
  Result<std::unique_ptr<Topic>> t = Topic::Open(log.data_dir, name, read_only);
  if (!t.has_value()) throw EngineError(t.error().message());
  return std::move(*t);
}

}  // namespace

void RegisterLog(nb::module_& m) {
  nb::class_<NativeLog>(m, "NativeLog", "The embedded log of a data directory (use onceflow.Log).")
      .def(
          "__init__",
          [](NativeLog* self, std::string data_dir) { new (self) NativeLog{std::move(data_dir)}; },
          nb::arg("data_dir"))
      .def(
          "create_topic",
          [](NativeLog& log, const std::string& name, int32_t partitions) {
            Result<std::unique_ptr<Topic>> t =
                Topic::Create(log.data_dir, name, {.partitions = partitions});
            if (!t.has_value()) throw EngineError(t.error().message());
          },
          nb::arg("name"), nb::arg("partitions"))
      .def("topics",
           [](NativeLog& log) {
             Result<std::vector<std::string>> names = log::ListTopics(log.data_dir);
             if (!names.has_value()) throw EngineError(names.error().message());
             return *names;
           })
      .def(
          "describe",
          [](NativeLog& log, const std::string& name) {
            std::unique_ptr<Topic> t = OpenTopic(log, name, true);
            nb::list parts;
            for (int32_t p = 0; p < t->partition_count(); ++p) {
              Result<Offset> earliest = t->EarliestOffset(PartitionId(p));
              Result<Offset> end = t->EndOffset(PartitionId(p));
              if (!earliest.has_value()) throw EngineError(earliest.error().message());
              if (!end.has_value()) throw EngineError(end.error().message());
              nb::dict d;
              d["partition"] = p;
              d["earliest"] = earliest->value();
              d["end"] = end->value();
              d["records"] = end->value() - earliest->value();
              parts.append(d);
            }
            nb::dict d;
            d["name"] = name;
            d["partitions"] = parts;
            return d;
          },
          nb::arg("name"))
      .def(
          "produce",
          [](NativeLog& log, const std::string& topic, nb::list values, nb::object keys) {
            const size_t n = nb::len(values);
            std::vector<std::string> vs(n);
            std::vector<std::optional<std::string>> ks(n);
            for (size_t i = 0; i < n; ++i) {
              vs[i] = Bytes(PyList_GET_ITEM(values.ptr(), Py_ssize_t(i)), "values", i);
            }
            if (!keys.is_none()) {
              nb::list kl = nb::cast<nb::list>(keys);
              if (nb::len(kl) != n) {
                throw EngineError("keys: " + std::to_string(nb::len(kl)) + " keys for " +
                                  std::to_string(n) + " values");
              }
              for (size_t i = 0; i < n; ++i) {
                PyObject* k = PyList_GET_ITEM(kl.ptr(), Py_ssize_t(i));
                if (k != Py_None) ks[i] = Bytes(k, "keys", i);
              }
            }
            Status s;
            {
              nb::gil_scoped_release release;
              Result<std::unique_ptr<Topic>> t = Topic::Open(log.data_dir, topic);
              if (!t.has_value()) {
                s = t.error();
              } else {
                Result<std::unique_ptr<Producer>> p = Producer::Create(t->get());
                if (!p.has_value()) {
                  s = p.error();
                } else {
                  for (size_t i = 0; i < n && s.ok(); ++i) {
                    auto sent = (*p)->Send(
                        ks[i] ? std::optional<std::string_view>(*ks[i]) : std::nullopt, vs[i]);
                    if (!sent.has_value()) s = sent.error();
                  }
                  Status closed = (*p)->Close();
                  if (s.ok()) s = closed;
                }
              }
            }
            ThrowIfError(s);
            return n;
          },
          nb::arg("topic"), nb::arg("values"), nb::arg("keys").none())
      .def(
          "read",
          [](NativeLog& log, const std::string& topic, int32_t partition, int64_t offset,
             int64_t max) {
            std::vector<Record> records;
            Status s;
            {
              nb::gil_scoped_release release;
              std::unique_ptr<Topic> t;
              Result<std::unique_ptr<Topic>> opened = Topic::Open(log.data_dir, topic, true);
              if (!opened.has_value()) {
                s = opened.error();
              } else {
                Result<std::vector<Record>> r =
                    (*opened)->Read(PartitionId(partition), Offset(offset), size_t(max));
                if (r.has_value()) {
                  records = std::move(*r);
                } else {
                  s = r.error();
                }
              }
            }
            ThrowIfError(s);
            nb::list out;
            for (const Record& r : records) {
              out.append(nb::make_tuple(r.key ? ValueObject(*r.key) : nb::none(),
                                        ValueObject(r.value), r.timestamp_ms));
            }
            return out;
          },
          nb::arg("topic"), nb::arg("partition"), nb::arg("offset"), nb::arg("max"));
}

}  // namespace onceflow::python
