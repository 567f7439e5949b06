// ckptdoctor.rules(): the rules a scan can run, as `ckptdoctor rules --format json` lists them.
#include <filesystem>

#include <fmt/format.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "io/paths.h"
#include "python/bindings.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace ckd::python {

namespace {

struct PyRule {
  std::string code, name, family, severity, fix, tier, summary, why, example, remedy;
};

}  // namespace

void bind_rules(nb::module_& m) {
  nb::class_<PyRule>(m, "Rule", "A rule: its code, name, family, default severity and docs.")
      .def_ro("code", &PyRule::code)
      .def_ro("name", &PyRule::name)
      .def_ro("family", &PyRule::family)
      .def_ro("severity", &PyRule::severity, "Default severity: 'error', 'warning' or 'info'.")
      .def_ro("fix", &PyRule::fix, "'safe', 'unsafe', 'display-only' or 'none'.")
      .def_ro("tier", &PyRule::tier, "What it reads: 'header', 'scales' or 'data'.")
      .def_ro("summary", &PyRule::summary)
      .def_ro("why", &PyRule::why)
      .def_ro("example", &PyRule::example)
      .def_ro("remedy", &PyRule::remedy, "How to fix what it finds.")
      .def("__repr__", [](const PyRule& r) {
        return fmt::format("<Rule {} {} {}>", r.code, r.name, r.severity);
      });

  m.def(
      "rules",
      [](std::vector<std::filesystem::path> extra) {
        RuleSet set = RuleSet::builtin();
        for (const auto& path : extra)
          set.add_json(read_small_file(path.string(), 16 << 20), path.string());
        std::vector<PyRule> out;
        for (const Rule& r : set.rules()) {
          out.push_back(PyRule{r.code, r.name, r.family, severity_name(r.severity),
                               fix_applicability_name(r.fix), r.tier, r.docs.summary, r.docs.why,
                               r.docs.example, r.docs.fix});
        }
        return out;
      },
      "rules"_a = std::vector<std::filesystem::path>{},
      "The built-in rules, and those of the given rule files, in code order.");
}

}  // namespace ckd::python
