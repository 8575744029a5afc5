// Python batch functions: the GIL once per call, rows converted in bulk, exceptions turned into
// a failed task attempt with the Python traceback printed.
#include "batch_functions.h"

#include <Python.h>
#include <nanobind/stl/string.h>

#include <chrono>
#include <stdexcept>

#include "rows.h"

namespace onceflow::python {

void UserErrors::Record(const std::string& traceback) {
  std::lock_guard lock(mu_);
  last_ = traceback;
  ++count_;
}

std::string UserErrors::last_traceback() const {
  std::lock_guard lock(mu_);
  return last_;
}

int64_t UserErrors::count() const {
  std::lock_guard lock(mu_);
  return count_;
}

SharedObject Share(nb::object o) {
  return SharedObject(new nb::object(std::move(o)), [](nb::object* p) {
    if (!Py_IsInitialized()) {
      (void)p->release();  // the interpreter is gone: nothing to release
      delete p;
      return;
    }
    nb::gil_scoped_acquire gil;
    delete p;
  });
}

namespace {

// str(o). REQUIRES: the GIL.
std::string Str(nb::handle o) {
  nb::object s = nb::steal(PyObject_Str(o.ptr()));
  if (!s.is_valid()) throw nb::python_error();
  Py_ssize_t len = 0;
  const char* p = PyUnicode_AsUTF8AndSize(s.ptr(), &len);
  if (p == nullptr) throw nb::python_error();
  return std::string(p, size_t(len));
}

// "ValueError: boom (at job.py:12 in enrich)", the full traceback printed to sys.stderr and
// kept in *errors. REQUIRES: the GIL.
std::string Report(nb::python_error& e, const std::string& what, UserErrors* errors) {
  std::string line, full;
  try {
    nb::module_ tb = nb::module_::import_("traceback");
    nb::object lines = tb.attr("format_exception")(e.type(), e.value(), e.traceback());
    full = Str(nb::str("").attr("join")(lines));
    line = Str(e.type().attr("__name__"));
    const std::string msg = Str(e.value());
    if (!msg.empty()) line += ": " + msg;
    nb::object frames = tb.attr("extract_tb")(e.traceback());
    if (const size_t n = nb::len(frames); n > 0) {
      nb::object last = frames[nb::int_(n - 1)];
      line += " (at " + Str(last.attr("filename")) + ":" + Str(last.attr("lineno")) + " in " +
              Str(last.attr("name")) + ")";
    }
  } catch (const std::exception& inner) {
    line = e.what();
    full = e.what();
  }
  for (char& c : line) {
    if (c == '\n') c = ' ';
  }
  errors->Record(full);
  nb::object err = nb::module_::import_("sys").attr("stderr");
  try {
    err.attr("write")("onceflow: " + what + " raised (the task attempt fails and is retried):\n" +
                      full);
    err.attr("flush")();
  } catch (nb::python_error& ignored) {
    // A closed stderr: the traceback is still kept for run()'s exception.
  }
  return line;
}

// An output row, or a dead letter naming what does not fit.
void AddRow(nb::handle item, size_t from, BatchOutput* out) {
  Row row;
  if (std::optional<std::string> bad = DictToRow(item, &row)) {
    out->rejected.push_back({from, ShortRepr(item), *bad});
    return;
  }
  out->rows.push_back(std::move(row));
  out->from.push_back(from);
}

// Adds the time since `start` to the functions' time when it goes out of scope (after the GIL
// is released: declared before it).
struct Timed {
  UserErrors* errors;
  std::chrono::steady_clock::time_point start;
  ~Timed() {
    errors->AddNanos(std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count());
  }
};

// The function's result as a BatchOutput. Errors (a result of the wrong shape) are
// invalid_argument; Python exceptions propagate.
Result<BatchOutput> Convert(BatchKind kind, nb::handle result, std::vector<Row>& in) {
  const size_t n = in.size();
  if (!PyList_Check(result.ptr()) && !PyTuple_Check(result.ptr())) {
    return Err(Status::InvalidArgument(std::string("must return a list, got ") +
                                       Py_TYPE(result.ptr())->tp_name));
  }
  nb::object seq = nb::steal(PySequence_Fast(result.ptr(), "a list"));
  if (!seq.is_valid()) throw nb::python_error();
  const size_t m = size_t(PySequence_Fast_GET_SIZE(seq.ptr()));
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  BatchOutput out;
  out.rows.reserve(m);
  out.from.reserve(m);
  switch (kind) {
    case BatchKind::kMap:
      for (size_t k = 0; k < m; ++k) AddRow(items[k], m == n ? k : (n == 0 ? 0 : n - 1), &out);
      break;
    case BatchKind::kFilter: {
      // Keep flags (one per row), or the rows kept.
      if (m > 0 && !PyBool_Check(items[0])) {
        for (size_t k = 0; k < m; ++k) AddRow(items[k], n == 0 ? 0 : n - 1, &out);
        break;
      }
      if (m != n) {
        return Err(Status::InvalidArgument("returned " + std::to_string(m) + " flags for " +
                                           std::to_string(n) + " rows"));
      }
      for (size_t k = 0; k < m; ++k) {
        const int keep = PyObject_IsTrue(items[k]);
        if (keep < 0) throw nb::python_error();
        if (keep == 0) continue;
        out.rows.push_back(std::move(in[k]));
        out.from.push_back(k);
      }
      break;
    }
    case BatchKind::kFlatMap:
      if (m != n) {
        return Err(Status::InvalidArgument("returned " + std::to_string(m) + " lists for " +
                                           std::to_string(n) + " rows (one list per row)"));
      }
      for (size_t k = 0; k < m; ++k) {
        if (!PyList_Check(items[k]) && !PyTuple_Check(items[k])) {
          return Err(Status::InvalidArgument("element " + std::to_string(k) +
                                             " must be a list of rows, got " +
                                             Py_TYPE(items[k])->tp_name));
        }
        nb::object inner = nb::steal(PySequence_Fast(items[k], "a list"));
        if (!inner.is_valid()) throw nb::python_error();
        const Py_ssize_t len = PySequence_Fast_GET_SIZE(inner.ptr());
        for (Py_ssize_t j = 0; j < len; ++j) {
          AddRow(PySequence_Fast_GET_ITEM(inner.ptr(), j), k, &out);
        }
      }
      break;
  }
  return out;
}

// One key of update_state: fn(key, state, rows, ctx) -> (state, rows), the state as JSON
// text in field "v". A result of the wrong shape or a row or state that cannot be kept is a
// std::runtime_error; a Python exception propagates. `k` is changed only on success.
// REQUIRES: the GIL.
void UpdateKey(const nb::object& fn, const nb::object& loads, const nb::object& dumps,
               const nb::object& context, KeyedStateUpdate& k) {
  nb::object old = nb::none();
  if (k.state) {
    std::optional<std::string_view> text = k.state->GetString("v");
    if (text) old = loads(nb::str(text->data(), text->size()));
  }
  nb::object result = fn(RowToDict(k.key), old, RowsToList(k.values), context);
  if (!PyTuple_Check(result.ptr()) || PyTuple_GET_SIZE(result.ptr()) != 2) {
    throw std::runtime_error(std::string("update_state: must return (state, rows), got ") +
                             Py_TYPE(result.ptr())->tp_name);
  }
  nb::handle new_state = PyTuple_GET_ITEM(result.ptr(), 0);
  nb::handle rows = PyTuple_GET_ITEM(result.ptr(), 1);
  if (!PyList_Check(rows.ptr())) {
    throw std::runtime_error(std::string("update_state: rows must be a list, got ") +
                             Py_TYPE(rows.ptr())->tp_name);
  }
  std::vector<Row> out(size_t(PyList_GET_SIZE(rows.ptr())));
  for (size_t i = 0; i < out.size(); ++i) {
    if (std::optional<std::string> bad =
            DictToRow(PyList_GET_ITEM(rows.ptr(), Py_ssize_t(i)), &out[i])) {
      throw std::runtime_error("update_state: " + *bad);
    }
  }
  if (new_state.is_none()) {
    k.state.reset();
  } else {
    k.state = Row{{"v", Str(dumps(new_state))}};
  }
  k.out = std::move(out);
}

}  // namespace

std::function<Result<BatchOutput>(std::vector<Row>, const BatchContext&)> MakeBatchFunction(
    nb::object fn, BatchKind kind, std::string name, std::shared_ptr<UserErrors> errors) {
  SharedObject f = Share(std::move(fn));
  return [f, kind, name, errors](std::vector<Row> rows,
                                 const BatchContext& ctx) -> Result<BatchOutput> {
    const auto start = std::chrono::steady_clock::now();
    Timed timed{errors.get(), start};
    nb::gil_scoped_acquire gil;
    try {
      nb::list list = RowsToList(rows);
      nb::object result = (*f)(list, nb::cast(ctx, nb::rv_policy::copy));
      return Convert(kind, result, rows);
    } catch (nb::python_error& e) {
      return Err(Status::Aborted(Report(e, name, errors.get())));
    }
  };
}

std::function<Status(const BatchContext&, std::span<const Row>)> MakeForeachBatch(
    nb::object fn, std::shared_ptr<UserErrors> errors) {
  SharedObject f = Share(std::move(fn));
  return [f, errors](const BatchContext& ctx, std::span<const Row> rows) -> Status {
    Timed timed{errors.get(), std::chrono::steady_clock::now()};
    nb::gil_scoped_acquire gil;
    try {
      (*f)(RowsToList(rows), nb::cast(ctx, nb::rv_policy::copy));
      return Status::Ok();
    } catch (nb::python_error& e) {
      // Retryable: the batch is tried again (max_batch_failures) with the same context.
      return Status::Aborted("foreach_batch failed: " + Report(e, "foreach_batch", errors.get()))
          .WithRetryable(true);
    }
  };
}

std::function<Status(std::span<KeyedStateUpdate>, const BatchContext&)> MakeUpdateState(
    nb::object fn, std::shared_ptr<UserErrors> errors) {
  SharedObject f = Share(std::move(fn));
  return [f, errors](std::span<KeyedStateUpdate> keys, const BatchContext& ctx) -> Status {
    Timed timed{errors.get(), std::chrono::steady_clock::now()};
    nb::gil_scoped_acquire gil;
    try {
      nb::module_ json = nb::module_::import_("json");
      nb::object loads = json.attr("loads"), dumps = json.attr("dumps");
      nb::object context = nb::cast(ctx, nb::rv_policy::copy);
      for (KeyedStateUpdate& k : keys) {
        try {
          UpdateKey(*f, loads, dumps, context, k);
        } catch (nb::python_error& e) {
          k.error = "update_state threw: " + Report(e, "update_state", errors.get());
        } catch (const std::exception& e) {
          k.error = std::string("update_state threw: ") + e.what();
        }
      }
      return Status::Ok();
    } catch (nb::python_error& e) {
      // Outside the user's function (the json module): fails the batch attempt.
      return Status::Aborted("update_state: " + Report(e, "update_state", errors.get()));
    }
  };
}

std::function<std::vector<Row>(const Row&, std::optional<Row>&, std::span<const Row>,
                               const BatchContext&)>
MakeUpdateStatePerKey(nb::object fn, std::shared_ptr<UserErrors> errors) {
  SharedObject f = Share(std::move(fn));
  return [f, errors](const Row& key, std::optional<Row>& state, std::span<const Row> values,
                     const BatchContext& ctx) -> std::vector<Row> {
    Timed timed{errors.get(), std::chrono::steady_clock::now()};
    nb::gil_scoped_acquire gil;
    std::string failure;
    try {
      nb::module_ json = nb::module_::import_("json");
      KeyedStateUpdate k{.key = key, .values = values, .state = state, .out = {}, .error = {}};
      UpdateKey(*f, json.attr("loads"), json.attr("dumps"), nb::cast(ctx, nb::rv_policy::copy), k);
      state = std::move(k.state);
      return std::move(k.out);
    } catch (nb::python_error& e) {
      failure = Report(e, "update_state", errors.get());
    }
    throw std::runtime_error(failure);
  };
}

}  // namespace onceflow::python
