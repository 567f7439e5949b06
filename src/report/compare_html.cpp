#include "report/compare_html.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "report/text_style.h"

namespace ckd {

namespace {

std::string esc(std::string_view s) {
  return replace_chars(s, {{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}});
}

std::string pct(double v) {
  return std::isfinite(v) ? fmt::format("{:.2f}%", 100 * v) : std::string("inf");
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

void heatmap(std::ostream& out, const CompareReport& r) {
  // Cell: the worst ratio of relative error to limit among the modules of (layer, type).
  std::map<std::pair<int, std::string>, std::pair<double, std::string>> cells;
  std::set<std::string> types;
  std::set<std::pair<int, std::string>> layers;
  for (const ModuleError& e : r.tensors) {
    std::string layer = layer_of(e.module), type = module_type(e.module);
    int n = layer_number(layer);
    layers.insert({n, layer});
    types.insert(type);
    double ratio = e.passed ? e.rel_error / e.limit : std::max(1.01, e.rel_error / e.limit);
    auto& cell = cells[{n, type}];
    if (cell.second.empty() || ratio > cell.first || std::isnan(ratio)) cell = {ratio, e.module};
  }
  const int cw = 22, ch = 14, left = 60, top = 8;
  std::vector<std::string> type_list(types.begin(), types.end());
  size_t longest = 0;
  for (const std::string& t : type_list) longest = std::max(longest, t.size());
  int label = static_cast<int>(longest) * 6;  // rotated labels reach right and down
  int width = left + cw * static_cast<int>(type_list.size()) + label;
  int height = top + ch * static_cast<int>(layers.size()) + label + 10;
  out << fmt::format(
      "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' "
      "font-family='sans-serif' font-size='10'>\n",
      width, height);
  int row = 0;
  for (const auto& [n, layer] : layers) {
    int y = top + row * ch;
    out << fmt::format("<text x='{}' y='{}' text-anchor='end'>{}</text>\n", left - 4, y + ch - 3,
                       esc(layer == "other" ? "other" : "layer " + layer));
    for (size_t c = 0; c < type_list.size(); ++c) {
      auto it = cells.find({n, type_list[c]});
      if (it == cells.end()) continue;
      out << fmt::format(
          "<rect x='{}' y='{}' width='{}' height='{}' fill='{}'><title>{}: {} of "
          "the limit</title></rect>\n",
          left + static_cast<int>(c) * cw, y, cw - 1, ch - 1, colour(it->second.first),
          esc(it->second.second), pct(it->second.first));
    }
    ++row;
  }
  int y = top + row * ch + 6;
  for (size_t c = 0; c < type_list.size(); ++c) {
    int x = left + static_cast<int>(c) * cw + cw / 2;
    out << fmt::format("<text x='{}' y='{}' transform='rotate(60 {} {})'>{}</text>\n", x, y, x, y,
                       esc(type_list[c]));
  }
  out << "</svg>\n";
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
  for (const ModuleError& e : r.tensors) {
    if (e.format != format) continue;
    double x = e.rel_error / (2 * limit) * kBins;
    int b = std::isfinite(x) ? std::min(kBins, static_cast<int>(x)) : kBins;
    bins[static_cast<size_t>(std::max(0, b))]++;
  }
  int peak = std::max(1, *std::max_element(bins.begin(), bins.end()));
  const int bw = 9, h = 100, left = 30;
  out << fmt::format(
      "<h3>{}</h3>\n<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' "
      "font-family='sans-serif' font-size='10'>\n",
      esc(format), left + bw * (kBins + 1) + 20, h + 30);
  for (int b = 0; b <= kBins; ++b) {
    int bh = bins[static_cast<size_t>(b)] * h / peak;
    double mid = (b + 0.5) / kBins * 2;
    out << fmt::format(
        "<rect x='{}' y='{}' width='{}' height='{}' fill='{}'><title>{}{} "
        "modules</title></rect>\n",
        left + b * bw, h - bh, bw - 1, bh, colour(b == kBins ? 2 : mid),
        b == kBins ? fmt::format("over {}: ", pct(2 * limit))
                   : fmt::format("{} to {}: ", pct(2 * limit * b / kBins),
                                 pct(2 * limit * (b + 1) / kBins)),
        bins[static_cast<size_t>(b)]);
  }
  int limit_x = left + bw * kBins / 2;
  out << fmt::format(
      "<line x1='{0}' x2='{0}' y1='0' y2='{1}' stroke='black' stroke-dasharray='3'/>"
      "<text x='{0}' y='{2}' text-anchor='middle'>limit {3}</text>\n",
      limit_x, h, h + 14, pct(limit));
  out << fmt::format(
      "<text x='{}' y='{}'>0</text><text x='{}' y='{}' text-anchor='end'>{}+</text>\n", left,
      h + 14, left + bw * (kBins + 1), h + 14, pct(2 * limit));
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

void write_compare_html(std::ostream& out, const CompareReport& r) {
  out << "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>ckptdoctor compare "
      << esc(r.quant_dir)
      << "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:80em}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
         "text-align:left}td.n{text-align:right}.fail{color:#a00}.ok{color:#070}</style>"
         "</head><body>\n";
  out << fmt::format(
      "<h1>ckptdoctor compare</h1>\n<p><b>{}</b> against <b>{}</b>: {} modules "
      "compared, {} unpaired, <span class='{}'>{} over their limit</span>.</p>\n",
      esc(r.quant_dir), esc(r.source_dir), r.tensors.size(), r.unpaired.size(),
      r.failed ? "fail" : "ok", r.failed);
  out << "<h2>Relative error by layer and module type</h2>\n<p>Each cell is the worst module of "
         "its layer and type, coloured by its error as a share of its format's limit (green 0, "
         "yellow half, red the limit, dark red over it). Hover for the module.</p>\n";
  heatmap(out, r);
  out << "<h2>Distribution per format</h2>\n";
  for (const auto& [format, summary] : r.by_format) {
    histogram(out, format, r);
    out << fmt::format("<p>{} modules: median {}, p95 {}, max {}, {} failed.</p>\n",
                       summary.modules, pct(summary.median), pct(summary.p95), pct(summary.max),
                       summary.failed);
  }
  out << "<h2>Failures</h2>\n";
  if (r.failed == 0) {
    out << "<p class='ok'>None.</p>\n";
  } else {
    out << "<table><tr><th>module</th><th>format</th><th>relative error</th><th>limit</th>"
           "<th>max abs error</th><th>NaN</th><th>Inf</th><th>source</th></tr>\n";
    for (size_t i = 0; i < r.failed; ++i) {
      const ModuleError& e = r.tensors[i];
      out << fmt::format(
          "<tr><td>{}</td><td>{}</td><td class='n fail'>{}</td><td class='n'>{}"
          "</td><td class='n'>{:.4g}</td><td class='n'>{}</td><td class='n'>{}</td>"
          "<td>{}</td></tr>\n",
          esc(e.module), esc(e.format), pct(e.rel_error), pct(e.limit), e.max_abs_error, e.nan,
          e.inf, esc(e.source));
    }
    out << "</table>\n";
  }
  if (!r.unpaired.empty()) {
    out << "<h2>Not compared</h2>\n<table><tr><th>module</th><th>reason</th></tr>\n";
    for (const UnpairedModule& u : r.unpaired)
      out << fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", esc(u.module), esc(u.reason));
    out << "</table>\n";
  }
  out << "</body></html>\n";
}

}  // namespace ckd
