// ckptdoctor._core: the commands in process. A C++ exception that is not Python's own becomes
// ckptdoctor.Error carrying the one-line message the CLI prints after "ckptdoctor: error:".
#include <exception>
#include <new>

#include <nanobind/nanobind.h>

#include "python/bindings.h"
#include "report/ci_common.h"

namespace nb = nanobind;

namespace {

PyObject* error_type = nullptr;

void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const nb::builtin_exception&) {
    throw;  // ValueError and the like, raised on purpose by the binding
  } catch (const nb::python_error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;  // MemoryError
  } catch (const std::exception& e) {
    PyErr_SetString(error_type, e.what());
  }
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "ckptdoctor's native module: scan, compare, inspect, diff and rules in process.";
  // ckptdoctor.Error is defined in the package (python/ckptdoctor/__init__.py), which Python
  // imports before this module. Where the module is imported alone (stub generation at build
  // time), an equivalent type stands in.
  nb::object package = nb::module_::import_("ckptdoctor");
  if (nb::hasattr(package, "Error")) {
    error_type = nb::object(package.attr("Error")).release().ptr();
  } else {
    error_type = PyErr_NewExceptionWithDoc("ckptdoctor.Error", "ckptdoctor could not run.",
                                           PyExc_RuntimeError, nullptr);
  }
  m.attr("Error") = nb::handle(error_type);
  nb::register_exception_translator(&translate);
  m.attr("__version__") = ckd::ckptdoctor_version();

  ckd::python::bind_rules(m);
  ckd::python::bind_scan(m);
  ckd::python::bind_compare(m);
  ckd::python::bind_inspect(m);
}
