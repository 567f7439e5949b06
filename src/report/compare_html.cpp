#include "report/compare_html.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "report/compare_report.h"
#include "report/text_style.h"

namespace ckd {

namespace {

std::string esc(std::string_view s) {
  return replace_chars(s, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}});
}

std::string pct(double v) {
  return readable_percent(v);
}

// Green at 0, yellow at half the limit, red at the limit, dark red beyond.
std::string colour(double ratio) {
  if (!std::isfinite(ratio) || ratio > 1) return "#7f0000";
  double r = ratio < 0.5 ? ratio * 2 : 1, g = ratio < 0.5 ? 1 : 2 - ratio * 2;
  return fmt::format("#{:02x}{:02x}40", static_cast<int>(40 + 200 * r),
                     static_cast<int>(40 + 170 * g));
}

// Layers sort by number; "other" (and absurdly long numbers) last.
int layer_number(const std::string& layer) {
  bool digits = !layer.empty() && layer.size() <= 9 &&
                std::all_of(layer.begin(), layer.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  return digits ? std::stoi(layer) : 1 << 30;
}

// A cell's text colour: white on the dark red of a failure, black elsewhere.
const char* ink(double ratio) {
  return !std::isfinite(ratio) || ratio > 1 ? "#fff" : "#000";
}

// The heatmap as an HTML table: its numbers are text, so they survive a screenshot, a print or a
// copy, and the page's width holds many columns (it scrolls sideways when it must).
void heatmap(std::ostream& out, const CompareReport& r) {
  // Cell: the module of (layer, type) with the worst ratio of relative error to limit.
  std::map<std::pair<int, std::string>, std::pair<double, const ModuleError*>> cells;
  std::set<std::string> types;
  std::set<std::pair<int, std::string>> layers;
  for (const ModuleError& e : r.tensors) {
    std::string layer = layer_of(e.module), type = module_type(e.module);
    int n = layer_number(layer);
    layers.insert({n, layer});
    types.insert(type);
    double ratio = e.passed ? e.rel_error / e.limit : std::max(1.01, e.rel_error / e.limit);
    auto& cell = cells[{n, type}];
    if (!cell.second || ratio > cell.first || std::isnan(ratio)) cell = {ratio, &e};
  }
  std::vector<std::string> columns(types.begin(), types.end());
  std::stable_sort(columns.begin(), columns.end(), module_type_before);
  out << "<div class='scroll'><table id='heatmap' class='heat'>\n<tr><th>layer</th>";
  for (const std::string& t : columns)
    out << fmt::format("<th class='col'><span>{}</span></th>", esc(t));
  out << "</tr>\n";
  for (const auto& [n, layer] : layers) {
    out << fmt::format("<tr><th>{}</th>", esc(layer));
    for (const std::string& t : columns) {
      auto it = cells.find({n, t});
      if (it == cells.end()) {
        out << "<td class='none'></td>";
        continue;
      }
      const auto& [ratio, e] = it->second;
      out << fmt::format(
          "<td style='background:{};color:{}' title='{}: {} of the {} limit {}'>{}</td>",
          colour(ratio), ink(ratio), esc(e->module), pct(ratio), esc(e->format), pct(e->limit),
          std::isnan(e->rel_error) ? "n/a" : pct(e->rel_error));
    }
    out << "</tr>\n";
  }
  out << "</table></div>\n";
}

// The colour scale with its values: per format, the relative error each colour stands for.
void legend(std::ostream& out, const CompareReport& r) {
  std::map<std::string, double> limits;
  for (const ModuleError& e : r.tensors) limits[e.format] = e.limit;
  out << "<table id='legend' class='legend'>\n";
  for (const auto& [format, limit] : limits) {
    out << fmt::format("<tr><th>{} (limit {})</th>", esc(format), pct(limit));
    for (double share : {0.0, 0.25, 0.5, 0.75, 1.0}) {
      out << fmt::format("<td style='background:{};color:{}'>{}</td>", colour(share), ink(share),
                         pct(share * limit));
    }
    out << fmt::format("<td style='background:{};color:{}'>over {} (fails)</td></tr>\n", colour(2),
                       ink(2), pct(limit));
  }
  out << "</table>\n";
}

void histogram(std::ostream& out, const std::string& format, const CompareReport& r) {
  constexpr int kBins = 40;
  double limit = 0;
  std::vector<int> bins(kBins + 1, 0);  // the last bin: beyond twice the limit
  for (const ModuleError& e : r.tensors) {
    if (e.format != format) continue;
    limit = e.limit;
  }
  if (limit <= 0) return;
  double worst = 0;
  for (const ModuleError& e : r.tensors) {
    if (e.format != format) continue;
    bins[static_cast<size_t>(histogram_bin(e.rel_error, limit, kBins))]++;
    if (std::isnan(e.rel_error) || (!std::isnan(worst) && e.rel_error > worst))
      worst = e.rel_error;  // a NaN (not measured) is the worst
  }
  const int peak = std::max(1, *std::max_element(bins.begin(), bins.end()));
  // Plot area: bars from x0, bar width bw, height h above the axis at y0; the overflow bar sits
  // apart, after a gap, so it never reads as part of the scale.
  const int bw = 10, h = 120, x0 = 44, top = 16, y0 = top + h, gap = 14;
  const int overflow_x = x0 + bw * kBins + gap;
  const int width = overflow_x + bw + 150, height = y0 + 64;
  out << fmt::format(
      "<h3>{}</h3>\n<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' "
      "font-family='sans-serif' font-size='10'>\n",
      esc(format), width, height);
  // Y axis: module counts.
  out << fmt::format(
      "<line x1='{0}' x2='{0}' y1='{1}' y2='{2}' stroke='#333'/>"
      "<text x='{3}' y='{2}' text-anchor='end'>0</text>"
      "<text x='{3}' y='{4}' text-anchor='end'>{5}</text>"
      "<text x='10' y='{6}' transform='rotate(-90 10 {6})' text-anchor='middle'>modules</text>\n",
      x0 - 2, top, y0, x0 - 5, top + 8, peak, top + h / 2);
  for (int b = 0; b <= kBins; ++b) {
    const int count = bins[static_cast<size_t>(b)];
    const int x = b == kBins ? overflow_x : x0 + b * bw;
    // A bar of any count is at least 2 px tall: one module among thousands stays visible.
    const int bh = count == 0 ? 0 : std::max(2, count * h / peak);
    const double mid = (b + 0.5) / kBins * 2;  // the bin's middle, as a share of the limit
    const std::string range = b == kBins ? fmt::format("over {}", pct(2 * limit))
                                         : fmt::format("{} to {}", pct(2 * limit * b / kBins),
                                                       pct(2 * limit * (b + 1) / kBins));
    out << fmt::format(
        "<rect x='{}' y='{}' width='{}' height='{}' fill='{}'><title>{}: {} modules</title>"
        "</rect>\n",
        x, y0 - bh, bw - 1, bh, colour(b == kBins ? 2 : mid), range, count);
    if (count > 0) {
      out << fmt::format("<text x='{}' y='{}' text-anchor='middle' font-size='9'>{}</text>\n",
                         x + bw / 2, y0 - bh - 2, count);
    }
  }
  // X axis: 0, the limit (dashed), twice the limit; the overflow bar labelled apart.
  const int limit_x = x0 + bw * kBins / 2, end_x = x0 + bw * kBins;
  out << fmt::format(
      "<line x1='{0}' x2='{1}' y1='{2}' y2='{2}' stroke='#333'/>"
      "<line x1='{3}' x2='{3}' y1='{4}' y2='{2}' stroke='black' stroke-dasharray='3'/>\n"
      "<text x='{0}' y='{5}' text-anchor='middle'>0%</text>"
      "<text x='{3}' y='{5}' text-anchor='middle'>limit {6}</text>"
      "<text x='{1}' y='{5}' text-anchor='middle'>{7}</text>"
      "<text x='{8}' y='{10}' text-anchor='middle'>over</text>\n"
      "<text x='{9}' y='{10}' text-anchor='middle'>relative error ||W&#770; &#8722; W|| / "
      "||W||</text>\n",
      x0, end_x, y0, limit_x, top, y0 + 12, pct(limit), pct(2 * limit), overflow_x + bw / 2,
      (x0 + end_x) / 2, y0 + 26);
  // Legend: what the colours and the dashed line mean, and the worst module of the format.
  const int lx = overflow_x + bw + 14;
  out << fmt::format(
      "<rect x='{0}' y='{1}' width='10' height='10' fill='{2}'/>"
      "<text x='{3}' y='{4}'>under the limit</text>\n"
      "<rect x='{0}' y='{5}' width='10' height='10' fill='{6}'/>"
      "<text x='{3}' y='{7}'>at the limit</text>\n"
      "<rect x='{0}' y='{8}' width='10' height='10' fill='{9}'/>"
      "<text x='{3}' y='{10}'>over it (fails)</text>\n"
      "<line x1='{0}' x2='{11}' y1='{12}' y2='{12}' stroke='black' stroke-dasharray='3'/>"
      "<text x='{3}' y='{13}'>the limit</text>\n"
      "<text x='{0}' y='{14}'>worst: {15}</text>\n",
      lx, top, colour(0.2), lx + 14, top + 9, top + 16, colour(1.0), top + 25, top + 32, colour(2),
      top + 41, lx + 10, top + 53, top + 56, top + 74, pct(worst));
  out << "</svg>\n";
}

}  // namespace

std::string module_type(const std::string& module) {
  std::string layer = layer_of(module);
  std::string rest = module;
  if (layer != "other") {
    std::string key = "layers." + layer + ".";
    size_t at = module.find(key);
    if (at != std::string::npos) rest = module.substr(at + key.size());
  }
  constexpr std::string_view kExperts = "experts.";
  size_t at = rest.find(kExperts);
  if (at != std::string::npos) {
    size_t start = at + kExperts.size(), end = start;
    while (end < rest.size() && std::isdigit(static_cast<unsigned char>(rest[end]))) ++end;
    if (end > start) rest = rest.substr(0, start) + "*" + rest.substr(end);
  }
  return rest;
}

namespace {

// Where a module type sits in a transformer block: (part, projection).
std::pair<int, int> block_position(const std::string& type) {
  auto has = [&](std::string_view part) { return type.find(part) != std::string::npos; };
  int part = has("lm_head") || has("embed")      ? 5
             : has("shared_expert")              ? 2
             : has("experts")                    ? 3
             : has("attn") || has("attention")   ? 0
             : has("mlp") || has("feed_forward") ? 1
                                                 : 4;
  std::string last = type.substr(type.rfind('.') + 1);
  static const std::map<std::string, int, std::less<>> kProjections = {
      {"q_proj", 0},    {"q_a_proj", 0},     {"q_b_proj", 0},
      {"wq", 0},        {"k_proj", 1},       {"kv_a_proj_with_mqa", 1},
      {"kv_b_proj", 1}, {"wk", 1},           {"v_proj", 2},
      {"wv", 2},        {"qkv_proj", 3},     {"query_key_value", 3},
      {"Wqkv", 3},      {"in_proj_qkv", 3},  {"o_proj", 4},
      {"out_proj", 4},  {"dense", 4},        {"wo", 4},
      {"gate_proj", 5}, {"gate_up_proj", 5}, {"w1", 5},
      {"up_proj", 6},   {"w3", 6},           {"down_proj", 7},
      {"w2", 7}};
  auto it = kProjections.find(last);
  return {part, it == kProjections.end() ? 8 : it->second};
}

}  // namespace

bool module_type_before(const std::string& a, const std::string& b) {
  auto pa = block_position(a), pb = block_position(b);
  return pa != pb ? pa < pb : a < b;
}

// Clamped as a double before the conversion: an error of 1e9 would overflow an int.
int histogram_bin(double rel_error, double limit, int bins) {
  double x = rel_error / (2 * limit) * bins;
  if (!(x < bins)) return bins;  // beyond, infinite or NaN
  return x <= 0 ? 0 : static_cast<int>(x);
}

namespace {

// Sorting for the module list: a click on a header sorts by its column (numbers by their
// data-v value), a second click reverses. Inline: the page fetches nothing.
constexpr const char* kSortScript = R"(<script>
for (const th of document.querySelectorAll('table.sortable th')) {
  th.addEventListener('click', () => {
    const table = th.closest('table'), body = table.tBodies[0];
    const col = th.cellIndex, numeric = th.dataset.type === 'n';
    const down = th.getAttribute('aria-sort') !== 'descending';
    for (const h of table.querySelectorAll('th')) h.removeAttribute('aria-sort');
    th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
    const key = row => numeric ? parseFloat(row.cells[col].dataset.v) : row.cells[col].textContent;
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      const c = numeric ? x - y : x.localeCompare(y, undefined, {numeric: true});
      return down ? -c : c;
    });
    body.append(...rows);
  });
}
</script>
)";

// A number for sorting: NaN (not measured) sorts as the worst.
std::string sort_value(double v) {
  return std::isnan(v) || v == INFINITY ? "1e308" : fmt::format("{}", v);
}

void layer_table(std::ostream& out, const CompareReport& r) {
  std::vector<std::pair<int, std::string>> layers;
  for (const auto& [layer, summary] : r.by_layer) layers.push_back({layer_number(layer), layer});
  std::sort(layers.begin(), layers.end());
  out << "<table id='layers' class='sortable'><thead><tr><th>layer</th><th data-type='n'>"
         "modules</th><th data-type='n'>failed</th><th data-type='n'>median</th><th "
         "data-type='n'>p95</th><th data-type='n'>max</th></tr></thead><tbody>\n";
  for (const auto& [n, layer] : layers) {
    const ErrorSummary& s = r.by_layer.at(layer);
    out << fmt::format(
        "<tr><td>{}</td><td class='n' data-v='{}'>{}</td><td class='n{}' data-v='{}'>{}</td>"
        "<td class='n' data-v='{}'>{}</td><td class='n' data-v='{}'>{}</td>"
        "<td class='n' data-v='{}'>{}</td></tr>\n",
        esc(layer), s.modules, s.modules, s.failed ? " fail" : "", s.failed, s.failed,
        sort_value(s.median), pct(s.median), sort_value(s.p95), pct(s.p95), sort_value(s.max),
        pct(s.max));
  }
  out << "</tbody></table>\n";
}

void module_table(std::ostream& out, const CompareReport& r) {
  out << "<table id='modules' class='sortable wide'><thead><tr><th>module</th><th>layer</th>"
         "<th>type</th><th>format</th><th data-type='n' aria-sort='descending'>relative error"
         "</th><th data-type='n'>of the limit</th><th data-type='n'>limit</th>"
         "<th data-type='n'>max abs error</th><th>result</th></tr></thead><tbody>\n";
  for (const ModuleError& e : r.tensors) {
    const double ratio = e.rel_error / e.limit;
    out << fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class='n' data-v='{}'>{}</td>"
        "<td class='n' data-v='{}' style='background:{};color:{}'>{}</td>"
        "<td class='n' data-v='{}'>{}</td><td class='n' data-v='{}'>{}</td>"
        "<td class='{}'>{}</td></tr>\n",
        esc(e.module), esc(layer_of(e.module)), esc(module_type(e.module)), esc(e.format),
        sort_value(e.rel_error), std::isnan(e.rel_error) ? "not measured" : pct(e.rel_error),
        sort_value(ratio), colour(e.passed ? ratio : std::max(ratio, 1.01)),
        ink(e.passed ? ratio : 2), std::isnan(ratio) ? "n/a" : pct(ratio), e.limit, pct(e.limit),
        sort_value(e.max_abs_error), fmt::format("{:.4g}", e.max_abs_error),
        e.passed ? "ok" : "fail", e.passed ? "pass" : "FAIL");
  }
  out << "</tbody></table>\n";
}

}  // namespace

void write_compare_html(std::ostream& out, const CompareReport& r) {
  out << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>ckptdoctor compare "
      << esc(r.quant_dir)
      << "</title>\n<style>"
         "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
         "body{font-family:sans-serif;margin:1em 2em}"
         "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;"
         "padding:2px 6px;text-align:left}td.n{text-align:right;font-variant-numeric:"
         "tabular-nums}.fail{color:#a00}.ok{color:#070}.wide{width:100%}"
         ".scroll{overflow-x:auto;max-width:100%}"
         "table.heat td{text-align:center;font-size:12px;white-space:nowrap;min-width:4.5em}"
         "table.heat td.none{background:#f4f4f4}table.heat th.col{vertical-align:bottom;"
         "font-weight:normal;font-size:12px}table.heat th.col span{writing-mode:vertical-rl;"
         "transform:rotate(180deg);white-space:nowrap}"
         "table.legend td{text-align:center;font-size:12px;min-width:5em}"
         ".hists{display:flex;flex-wrap:wrap;gap:1em 3em}"
         "table.sortable th{cursor:pointer;user-select:none}"
         "th[aria-sort=descending]::after{content:' \\25BC'}"
         "th[aria-sort=ascending]::after{content:' \\25B2'}"
         "@media print{.scroll{overflow:visible}}</style>"
         "</head><body>\n";
  out << fmt::format(
      "<h1>ckptdoctor compare</h1>\n<p><b>{}</b> against <b>{}</b>: {} modules "
      "compared, {} unpaired, <span class='{}'>{} over their limit, {} not decoded: "
      "{}</span>.</p>\n",
      esc(r.quant_dir), esc(r.source_dir), r.tensors.size(), r.unpaired.size(),
      r.passed() ? "ok" : "fail", r.failed, r.undecodable.size(),
      r.passed() ? "ok" : (r.tensors.empty() ? "FAIL (no module could be measured)" : "FAIL"));
  out << "<h2>Relative error by layer and module type</h2>\n<p>Each cell is the worst module of "
         "its layer and type: its relative error ||W&#770; &#8722; W|| / ||W||, on the colour of "
         "that error as a share of its format's limit. Hover for the module.</p>\n";
  legend(out, r);
  heatmap(out, r);
  out << "<h2>Distribution per format</h2>\n<div class='hists'>\n";
  for (const auto& [format, summary] : r.by_format) {
    out << "<div>\n";
    histogram(out, format, r);
    out << fmt::format("<p>{} modules: median {}, p95 {}, max {}, {} failed.</p>\n</div>\n",
                       summary.modules, pct(summary.median), pct(summary.p95), pct(summary.max),
                       summary.failed);
  }
  out << "</div>\n<h2>By layer</h2>\n";
  layer_table(out, r);
  out << "<h2>Failures</h2>\n";
  if (r.failed == 0) {
    out << (r.undecodable.empty() ? "<p class='ok'>None.</p>\n"
                                  : "<p>No measured module is over its limit; the modules not "
                                    "decoded are listed below.</p>\n");
  } else {
    out << "<table><tr><th>module</th><th>format</th><th>relative error</th><th>limit</th>"
           "<th>max abs error</th><th>NaN</th><th>Inf</th><th>source NaN</th>"
           "<th>source Inf</th><th>source</th></tr>\n";
    for (size_t i = 0; i < r.failed; ++i) {
      const ModuleError& e = r.tensors[i];
      out << fmt::format(
          "<tr><td>{}</td><td>{}</td><td class='n fail'>{}</td><td class='n'>{}"
          "</td><td class='n'>{:.4g}</td><td class='n'>{}</td><td class='n'>{}</td>"
          "<td class='n'>{}</td><td class='n'>{}</td><td>{}</td></tr>\n",
          esc(e.module), esc(e.format), std::isnan(e.rel_error) ? "not measured" : pct(e.rel_error),
          pct(e.limit), e.max_abs_error, e.nan, e.inf, e.source_nan, e.source_inf, esc(e.source));
    }
    out << "</table>\n";
  }
  if (!r.undecodable.empty()) {
    out << "<h2 class='fail'>Not decoded (failures)</h2>\n<table><tr><th>module</th>"
           "<th>reason</th></tr>\n";
    for (const UndecodableModule& u : r.undecodable)
      out << fmt::format("<tr><td>{}</td><td class='fail'>{}</td></tr>\n", esc(u.module),
                         esc(u.reason));
    out << "</table>\n";
  }
  if (!r.unpaired.empty()) {
    out << "<h2>Not compared</h2>\n<table><tr><th>module</th><th>reason</th></tr>\n";
    for (const UnpairedModule& u : r.unpaired)
      out << fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", esc(u.module), esc(u.reason));
    out << "</table>\n";
  }
  out << "<h2>All modules</h2>\n<p>Worst first; click a column to sort by it.</p>\n";
  module_table(out, r);
  out << kSortScript << "</body></html>\n";
}

}  // namespace ckd
