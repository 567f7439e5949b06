// ckptdoctor diff --format markdown: a summary table and collapsed <details> sections, for a
// pull-request comment or a model card.
#include <nlohmann/json.hpp>

#include "report/diff_groups.h"
#include "report/diff_report.h"

namespace ckd {

using namespace diff_detail;

namespace {

// Plain table text: a pipe would split the cell, a newline the row; HTML is escaped so a
// hostile name cannot inject markup into a rendered comment.
std::string cell(std::string_view s) {
  return replace_chars(printable(s), {{'|', "\\|"}, {'<', "&lt;"}, {'>', "&gt;"},
                                      {'&', "&amp;"}, {'\n', " "}});
}

// The inside of a `code span`: markup is shown as typed there (entities would print as
// "&lt;"), so only pipes and backticks, which end the cell or the span, are replaced.
std::string code(std::string_view s) {
  return replace_chars(printable(s), {{'|', "\\|"}, {'`', "'"}, {'\n', " "}});
}

}  // namespace

void write_diff_markdown(std::ostream& out, const CheckpointDiff& d, size_t limit) {
  out << fmt::format("## ckptdoctor diff: {}\n\n", d.same() ? "same" : "differ");
  out << "| | A | B |\n|---|---|---|\n";
  out << fmt::format("| checkpoint | `{}` | `{}` |\n", code(d.a), code(d.b));
  out << fmt::format("| tensors | {} | {} |\n\n", d.a_tensors, d.b_tensors);
  out << "| difference | count |\n|---|---:|\n";
  out << fmt::format("| only in A | {} |\n| only in B | {} |\n| renamed | {} |\n"
                     "| dtype or shape changed | {} |\n| config.json | {} |\n"
                     "| quantization config | {} |\n| tokenizer and other files | {} |\n"
                     "| tensors the same | {} |\n\n",
                     d.only_in_a.size(), d.only_in_b.size(), d.renamed.size(), d.changed.size(),
                     d.config.size(), d.quantization.size(),
                     d.files_compared ? std::to_string(d.files.size()) : "not compared",
                     d.same_tensors);
  auto details = [&](const std::string& summary, const std::vector<std::string>& rows,
                     const char* header) {
    if (rows.empty()) return;
    out << fmt::format("<details><summary>{}</summary>\n\n{}", summary, header);
    size_t n = shown(rows.size(), limit);
    for (size_t i = 0; i < n; ++i) out << rows[i] << "\n";
    if (rows.size() > n) out << fmt::format("\n... {} more\n", rows.size() - n);
    out << "\n</details>\n\n";
  };
  auto name_rows = [&](const std::vector<std::string>& names) {
    std::vector<std::string> rows;
    for (const auto& [param, v] : by_param(names))
      rows.push_back(fmt::format("| `{}` | {} | `{}` |", code(param), v.size(), code(v.front())));
    return rows;
  };
  details(fmt::format("Only in A ({})", d.only_in_a.size()), name_rows(d.only_in_a),
          "| parameter | tensors | e.g. |\n|---|---:|---|\n");
  details(fmt::format("Only in B ({})", d.only_in_b.size()), name_rows(d.only_in_b),
          "| parameter | tensors | e.g. |\n|---|---:|---|\n");
  std::vector<std::string> rows;
  for (const KeyRename& r : d.renamed) {
    rows.push_back(fmt::format("| {} | `{}`{} | `{}`{} |", r.kind, code(r.a[0]),
                               r.a.size() > 1 ? fmt::format(" +{}", r.a.size() - 1) : "",
                               code(r.b[0]), r.b.size() > 1 ? fmt::format(" +{}", r.b.size() - 1) : ""));
  }
  details(fmt::format("Renamed ({})", d.renamed.size()), rows, "| kind | A | B |\n|---|---|---|\n");
  rows.clear();
  for (const auto& [kind, changes] : by_kind(d.changed)) {
    rows.push_back(fmt::format("| {} | {} | `{}` {} |", cell(kind), changes.size(),
                               code(changes.front()->a_name), cell(change_text(*changes.front()))));
  }
  details(fmt::format("Dtype or shape changed ({})", d.changed.size()), rows,
          "| change | tensors | e.g. |\n|---|---:|---|\n");
  for (const auto& [title, v] : {std::pair{"config.json", &d.config},
                                 std::pair{"Quantization config", &d.quantization}}) {
    rows.clear();
    for (const JsonChange& c : *v) {
      rows.push_back(fmt::format("| `{}` | {} | `{}` | `{}` |", code(c.path.empty() ? "(whole file)" : c.path), c.change,
                                 code(value_text(c.a)), code(value_text(c.b))));
    }
    details(fmt::format("{} ({})", title, v->size()), rows,
            "| path | change | A | B |\n|---|---|---|---|\n");
  }
  rows.clear();
  for (const FileChange& f : d.files) {
    rows.push_back(fmt::format("| `{}` | {} | {} | {} |", code(f.name), f.change, file_facts(f.a),
                               file_facts(f.b)));
  }
  details(fmt::format("Tokenizer and other files ({})", d.files.size()), rows,
          "| file | change | A | B |\n|---|---|---|---|\n");
}

}  // namespace ckd
