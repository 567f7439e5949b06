#include "report/diff_report.h"

#include <map>

#include <nlohmann/json.hpp>

#include "checkpoint/module_table.h"
#include "report/diff_groups.h"

namespace ckd {

namespace diff_detail {

std::string shape_text(std::span<const uint64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// Compact JSON of a config value, cut to a readable width.
std::string value_text(const nlohmann::json& v) {
  if (v.is_null()) return "(absent)";
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 120) s = s.substr(0, 117) + "...";
  return s;
}

std::string change_text(const TensorChange& c) {
  std::string from = c.a_dtype + " " + shape_text(c.a_shape);
  std::string to = c.b_dtype + " " + shape_text(c.b_shape);
  return fmt::format("{} -> {}", from, to);
}

// Lists of names grouped by their parameter ("weight_scale: 14 tensors"), so a quantized
// checkpoint's thousands of scales read as one line each kind.
std::map<std::string, std::vector<std::string>> by_param(const std::vector<std::string>& names) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& n : names) {
    std::string_view param = split_tensor_name(n).second;
    out[param.empty() ? std::string("(bare)") : std::string(param)].push_back(n);
  }
  return out;
}

// Dtype / shape changes grouped by what changed ("BF16 -> F8_E4M3").
std::map<std::string, std::vector<const TensorChange*>> by_kind(
    const std::vector<TensorChange>& changes) {
  std::map<std::string, std::vector<const TensorChange*>> out;
  for (const TensorChange& c : changes) {
    std::string key = c.a_dtype == c.b_dtype ? fmt::format("{} shape", c.a_dtype)
                                             : fmt::format("{} -> {}", c.a_dtype, c.b_dtype);
    out[key].push_back(&c);
  }
  return out;
}

std::string file_facts(const std::optional<FileFacts>& f) {
  if (!f) return "absent";
  return fmt::format("{} bytes, sha256 {}", f->bytes, f->sha256.substr(0, 12));
}

size_t shown(size_t n, size_t limit) { return limit == 0 ? n : std::min(n, limit); }

}  // namespace diff_detail

using namespace diff_detail;
using nlohmann::json;

void write_diff_text(std::ostream& out, const CheckpointDiff& d, const Palette& p, size_t limit) {
  out << fmt::format("--- A {} ({} tensors)\n+++ B {} ({} tensors)\n", printable(d.a), d.a_tensors,
                     printable(d.b), d.b_tensors);
  auto more = [&](size_t total, size_t listed, const char* indent) {
    if (total > listed) out << p.dim(fmt::format("{}... {} more (--limit 0 lists all)\n", indent,
                                                 total - listed));
  };
  auto names_section = [&](const char* title, const char* sign, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out << "\n" << p.bold(fmt::format("{} ({})", title, v.size())) << "\n";
    for (const auto& [param, names] : by_param(v)) {
      out << fmt::format("  {} {}: {}\n", sign, printable(param), count_of(names.size(), "tensor"));
      size_t n = shown(names.size(), limit);
      for (size_t i = 0; i < n; ++i) out << fmt::format("      {}\n", printable(names[i]));
      more(names.size(), n, "      ");
    }
  };
  names_section("Only in A", "-", d.only_in_a);
  names_section("Only in B", "+", d.only_in_b);
  if (!d.renamed.empty()) {
    out << "\n" << p.bold(fmt::format("Renamed ({})", d.renamed.size())) << "\n";
    if (d.prefix) {
      out << fmt::format("  prefix \"{}\" -> \"{}\" ({} keys)\n", printable(d.prefix->from),
                         printable(d.prefix->to), d.prefix->count);
    }
    size_t n = shown(d.renamed.size(), limit);
    for (size_t i = 0; i < n; ++i) {
      const KeyRename& r = d.renamed[i];
      std::string a = r.a.size() == 1 ? printable(r.a[0])
                                      : fmt::format("{} (+{} more)", printable(r.a[0]), r.a.size() - 1);
      std::string b = r.b.size() == 1 ? printable(r.b[0])
                                      : fmt::format("{} (+{} more)", printable(r.b[0]), r.b.size() - 1);
      out << fmt::format("  {:<14} {} -> {}\n", r.kind, a, b);
    }
    more(d.renamed.size(), n, "  ");
  }
  if (!d.changed.empty()) {
    out << "\n" << p.bold(fmt::format("Dtype or shape changed ({})", d.changed.size())) << "\n";
    for (const auto& [kind, changes] : by_kind(d.changed)) {
      out << fmt::format("  {}: {}\n", kind, count_of(changes.size(), "tensor"));
      size_t n = shown(changes.size(), limit);
      for (size_t i = 0; i < n; ++i) {
        const TensorChange& c = *changes[i];
        out << fmt::format("      {}{}  {}\n", printable(c.a_name),
                           c.a_name == c.b_name ? "" : " -> " + printable(c.b_name),
                           change_text(c));
      }
      more(changes.size(), n, "      ");
    }
  }
  auto json_section = [&](const char* title, const std::vector<JsonChange>& v) {
    if (v.empty()) return;
    out << "\n" << p.bold(fmt::format("{} ({})", title, v.size())) << "\n";
    size_t n = shown(v.size(), limit);
    for (size_t i = 0; i < n; ++i) {
      const JsonChange& c = v[i];
      out << fmt::format("  {} {}: {} -> {}\n", c.change == "added" ? "+" : c.change == "removed" ? "-" : "~",
                         printable(c.path.empty() ? "(whole file)" : c.path),
                         printable(value_text(c.a)), printable(value_text(c.b)));
    }
    more(v.size(), n, "  ");
  };
  json_section("config.json", d.config);
  json_section("Quantization config", d.quantization);
  if (!d.files.empty()) {
    out << "\n" << p.bold(fmt::format("Tokenizer and other files ({})", d.files.size())) << "\n";
    for (const FileChange& f : d.files) {
      out << fmt::format("  {} {}: A {}; B {}\n",
                         f.change == "differ" ? "~" : f.change == "only_in_a" ? "-" : "+",
                         printable(f.name), file_facts(f.a), file_facts(f.b));
    }
  }
  out << "\n";
  if (d.same()) {
    out << p.bold("same") << fmt::format(": {} tensors{}\n", d.same_tensors,
                                         d.files_compared
                                             ? fmt::format(", {} companion files", d.files_same)
                                             : "");
  } else {
    out << p.bold("differ") << ": "
        << fmt::format("{} only in A, {} only in B, {} renamed, {} changed, {} config, {} "
                       "quantization, {} files; {} tensors the same\n",
                       d.only_in_a.size(), d.only_in_b.size(), d.renamed.size(), d.changed.size(),
                       d.config.size(), d.quantization.size(), d.files.size(), d.same_tensors);
  }
  if (!d.files_compared)
    out << p.dim("companion files not compared: a lone .safetensors file has none\n");
}

void write_diff_json(std::ostream& out, const CheckpointDiff& d) {
  json doc;
  doc["version"] = 1;
  doc["a"] = {{"location", d.a}, {"tensors", d.a_tensors}};
  doc["b"] = {{"location", d.b}, {"tensors", d.b_tensors}};
  doc["same"] = d.same();
  doc["only_in_a"] = d.only_in_a;
  doc["only_in_b"] = d.only_in_b;
  json renamed = json::array();
  for (const KeyRename& r : d.renamed) renamed.push_back({{"kind", r.kind}, {"a", r.a}, {"b", r.b}});
  doc["renamed"] = renamed;
  doc["prefix_change"] =
      d.prefix ? json{{"from", d.prefix->from}, {"to", d.prefix->to}, {"keys", d.prefix->count}}
               : json();
  json changed = json::array();
  for (const TensorChange& c : d.changed) {
    changed.push_back({{"a", {{"name", c.a_name}, {"dtype", c.a_dtype}, {"shape", c.a_shape}}},
                       {"b", {{"name", c.b_name}, {"dtype", c.b_dtype}, {"shape", c.b_shape}}}});
  }
  doc["changed"] = changed;
  auto json_changes = [](const std::vector<JsonChange>& v) {
    json arr = json::array();
    for (const JsonChange& c : v)
      arr.push_back({{"path", c.path}, {"change", c.change}, {"a", c.a}, {"b", c.b}});
    return arr;
  };
  doc["config"] = json_changes(d.config);
  doc["quantization"] = json_changes(d.quantization);
  auto facts = [](const std::optional<FileFacts>& f) {
    return f ? json{{"bytes", f->bytes}, {"sha256", f->sha256}} : json();
  };
  json files = json::array();
  for (const FileChange& f : d.files)
    files.push_back({{"name", f.name}, {"change", f.change}, {"a", facts(f.a)}, {"b", facts(f.b)}});
  doc["files"] = {{"compared", d.files_compared}, {"same", d.files_same}, {"changes", files}};
  doc["summary"] = {{"same_tensors", d.same_tensors},
                    {"only_in_a", d.only_in_a.size()},
                    {"only_in_b", d.only_in_b.size()},
                    {"renamed", d.renamed.size()},
                    {"changed", d.changed.size()},
                    {"config", d.config.size()},
                    {"quantization", d.quantization.size()},
                    {"files", d.files.size()}};
  out << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

}  // namespace ckd
