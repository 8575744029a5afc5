// Row <-> dict conversions, with the CPython API directly: they run for every row of every
// batch that a Python function sees.
#include "rows.h"

#include <Python.h>

#include <utility>

namespace onceflow::python {
namespace {

// The str objects of a batch's field names, made once per batch.
class KeyCache {
 public:
  PyObject* Get(const std::string& name) {
    for (auto& [n, o] : keys_) {
      if (n == name) return o.ptr();
    }
    nb::object o = nb::steal(PyUnicode_FromStringAndSize(name.data(), Py_ssize_t(name.size())));
    if (!o.is_valid()) throw nb::python_error();
    keys_.emplace_back(name, std::move(o));
    return keys_.back().second.ptr();
  }

 private:
  std::vector<std::pair<std::string, nb::object>> keys_;
};

PyObject* ValueToPy(const Value& v) {
  switch (v.index()) {
    case 0: Py_RETURN_NONE;
    case 1:
      if (std::get<bool>(v)) Py_RETURN_TRUE;
      Py_RETURN_FALSE;
    case 2: return PyLong_FromLongLong(std::get<int64_t>(v));
    case 3: return PyFloat_FromDouble(std::get<double>(v));
    default: {
      const std::string& s = std::get<std::string>(v);
      PyObject* o = PyUnicode_DecodeUTF8(s.data(), Py_ssize_t(s.size()), "strict");
      if (o != nullptr) return o;
      PyErr_Clear();  // not UTF-8: the bytes as they are
      return PyBytes_FromStringAndSize(s.data(), Py_ssize_t(s.size()));
    }
  }
}

nb::dict ToDict(const Row& row, KeyCache* keys) {
  nb::dict d;
  for (const auto& [name, value] : row.fields()) {
    nb::object v = nb::steal(ValueToPy(value));
    if (!v.is_valid() || PyDict_SetItem(d.ptr(), keys->Get(name), v.ptr()) != 0) {
      throw nb::python_error();
    }
  }
  return d;
}

std::string TypeName(PyObject* o) { return Py_TYPE(o)->tp_name; }

}  // namespace

nb::list RowsToList(std::span<const Row> rows) {
  KeyCache keys;
  nb::list list = nb::steal<nb::list>(PyList_New(Py_ssize_t(rows.size())));
  for (size_t i = 0; i < rows.size(); ++i) {
    PyList_SET_ITEM(list.ptr(), Py_ssize_t(i), ToDict(rows[i], &keys).release().ptr());
  }
  return list;
}

nb::dict RowToDict(const Row& row) {
  KeyCache keys;
  return ToDict(row, &keys);
}

std::optional<std::string> DictToRow(nb::handle obj, Row* out) {
  PyObject* d = obj.ptr();
  if (!PyDict_Check(d)) return "a row must be a dict, got " + TypeName(d);
  auto& fields = out->mutable_fields();
  fields.clear();
  fields.reserve(size_t(PyDict_Size(d)));
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(d, &pos, &key, &value)) {
    if (!PyUnicode_Check(key)) return "a field name must be a str, got " + TypeName(key);
    Py_ssize_t len = 0;
    const char* k = PyUnicode_AsUTF8AndSize(key, &len);
    if (k == nullptr) throw nb::python_error();
    std::string name(k, size_t(len));
    if (value == Py_None) {
      fields.emplace_back(std::move(name), std::monostate{});
    } else if (PyBool_Check(value)) {
      fields.emplace_back(std::move(name), value == Py_True);
    } else if (PyLong_Check(value)) {
      int overflow = 0;
      const long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
      if (overflow != 0) {
        return "field '" + name + "': int " + ShortRepr(value) + " is out of the 64-bit range";
      }
      if (v == -1 && PyErr_Occurred()) throw nb::python_error();
      fields.emplace_back(std::move(name), int64_t{v});
    } else if (PyFloat_Check(value)) {
      fields.emplace_back(std::move(name), PyFloat_AS_DOUBLE(value));
    } else if (PyUnicode_Check(value)) {
      const char* s = PyUnicode_AsUTF8AndSize(value, &len);
      if (s == nullptr) throw nb::python_error();
      fields.emplace_back(std::move(name), std::string(s, size_t(len)));
    } else if (PyBytes_Check(value)) {
      fields.emplace_back(std::move(name),
                          std::string(PyBytes_AS_STRING(value), size_t(PyBytes_GET_SIZE(value))));
    } else {
      return "field '" + name + "': unsupported type " + TypeName(value) +
             " (a value is None, bool, int, float, str or bytes)";
    }
  }
  return std::nullopt;
}

std::string ShortRepr(nb::handle obj) {
  PyObject* r = PyObject_Repr(obj.ptr());
  if (r == nullptr) {
    PyErr_Clear();
    return "<" + TypeName(obj.ptr()) + ">";
  }
  Py_ssize_t len = 0;
  const char* s = PyUnicode_AsUTF8AndSize(r, &len);
  std::string out = s != nullptr ? std::string(s, size_t(len)) : "<?>";
  if (s == nullptr) PyErr_Clear();
  Py_DECREF(r);
  if (out.size() > 300) out = out.substr(0, 297) + "...";
  return out;
}

}  // namespace onceflow::python
