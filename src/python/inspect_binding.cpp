// ckptdoctor.inspect and ckptdoctor.diff: the documented JSON documents of `ckptdoctor inspect
// --format json` and `ckptdoctor diff --format json` (README), as Python dicts: one schema for
// the command line and the API.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "checkpoint/checkpoint.h"
#include "diff/checkpoint_diff.h"
#include "inspect/inspect.h"
#include "io/byte_source.h"
#include "python/bindings.h"
#include "remote/remote_store.h"
#include "report/diff_report.h"
#include "report/inspect_report.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace ckd::python {

namespace {

std::string location(const std::filesystem::path& p) {
  return p.string();
}

nb::dict parsed(const std::string& json_text) {
  return nb::cast<nb::dict>(nb::module_::import_("json").attr("loads")(json_text));
}

}  // namespace

void bind_inspect(nb::module_& m) {
  m.def(
      "inspect",
      [](const std::filesystem::path& path, std::vector<std::string> filters, bool tensors,
         int threads) {
        std::ostringstream out;
        {
          nb::gil_scoped_release release;
          OpenOptions open_options;
          open_options.threads = threads;
          std::string where = location(path);
          auto ck = Checkpoint::open(open_store(where, HttpSettings{}), open_options);
          if (std::string why = unreadable_reason(*ck); !why.empty())
            throw IoError(fmt::format("{}: {}", where, why));
          InspectOptions options;
          options.filters = std::move(filters);
          options.all_tensors = tensors;
          write_inspect_json(out, inspect_checkpoint(*ck, options));
        }
        return parsed(out.str());
      },
      "path"_a, nb::kw_only(), "filters"_a = std::vector<std::string>{}, "tensors"_a = false,
      "threads"_a = 0,
      "What the checkpoint at `path` (a directory, one .safetensors file or hf://ORG/REPO[@REV])\n"
      "holds, as `ckptdoctor inspect --format json` prints it: architecture, quantization,\n"
      "parameters per dtype, bits per weight, modules by scheme, shards; the tensors matching\n"
      "`filters` (globs), or all with tensors=True.\n\nRaises ckptdoctor.Error when it cannot be "
      "read.");
  m.def(
      "diff",
      [](const std::filesystem::path& a, const std::filesystem::path& b, int threads) {
        std::ostringstream out;
        {
          nb::gil_scoped_release release;
          OpenOptions open_options;
          open_options.threads = threads;
          auto ck_a = Checkpoint::open(open_store(location(a), HttpSettings{}), open_options);
          auto ck_b = Checkpoint::open(open_store(location(b), HttpSettings{}), open_options);
          write_diff_json(out, diff_checkpoints(*ck_a, *ck_b));
        }
        return parsed(out.str());
      },
      "a"_a, "b"_a, nb::kw_only(), "threads"_a = 0,
      "Two checkpoints side by side from their headers, as `ckptdoctor diff --format json`\n"
      "prints it: keys only in one, renames, dtype and shape changes, config and quantization\n"
      "differences, companion files that differ.\n\nRaises ckptdoctor.Error when either cannot "
      "be read.");
}

}  // namespace ckd::python
