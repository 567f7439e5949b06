#include "report/inspect_report.h"

#include <nlohmann/json.hpp>

namespace ckd {

std::string human_count(uint64_t n) {
  static constexpr std::pair<double, const char*> kUnits[] = {
      {1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
  double v = static_cast<double>(n);
  for (const auto& [scale, unit] : kUnits) {
    if (v >= scale) {
      double x = v / scale;
      return fmt::format("{}{}", x >= 100 ? fmt::format("{:.0f}", x)
                                 : x >= 10 ? fmt::format("{:.1f}", x)
                                           : fmt::format("{:.2f}", x),
                         unit);
    }
  }
  return std::to_string(n);
}

namespace {

std::string shape_text(std::span<const uint64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

double share(uint64_t part, uint64_t total) {
  return total == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(total);
}

}  // namespace

void write_inspect_text(std::ostream& out, const InspectReport& r, const Palette& p) {
  out << p.bold(printable(r.location)) << (r.single_file ? " (single file)" : "") << "\n";
  if (r.single_file && !r.configs_read)
    out << p.dim("  configs beside the file not read: it is not its directory's only shard\n");
  std::string arch = r.architectures.empty() ? "not declared"
                                             : printable(fmt::format("{}", fmt::join(r.architectures, ", ")));
  out << fmt::format("  architecture   {}", arch);
  if (!r.model_type.empty()) out << fmt::format(" (model_type {})", printable(r.model_type));
  if (r.layers) out << fmt::format(", {} layers", *r.layers);
  if (!r.torch_dtype.empty()) out << fmt::format(", dtype {}", printable(r.torch_dtype));
  out << "\n";
  out << fmt::format("  quantization   {}\n", printable(r.quantization));
  for (const auto& g : r.groups) {
    out << fmt::format("    {:<12} {}{}{}{}, activations {}\n", printable(g.name), g.format,
                       g.bits ? fmt::format(", {} bits", g.bits) : "",
                       g.group_size ? fmt::format(", group {}", g.group_size) : "",
                       g.block ? fmt::format(", block {}x{}", (*g.block)[0], (*g.block)[1]) : "",
                       g.input);
  }
  if (r.ignore_entries) {
    out << fmt::format("    {}: {}\n", printable(r.ignore_key),
                       count_of(r.ignore_entries, "entry", "entries"));
  }
  if (r.kv_cache) out << "    KV cache quantized\n";
  out << fmt::format("  tensors        {} in {} ({})\n", r.tensors,
                     count_of(r.shards.size(), "file"), human_bytes(r.bytes));

  out << "\n" << p.bold("Parameters") << fmt::format(" {} held, {} as the Hub counts them\n",
                                                     human_count(r.parameters_total),
                                                     human_count(r.hub_total));
  out << fmt::format("  {:<14} {:>10} {:>10} {:>7}\n", "stored as", "held", "Hub", "bytes");
  std::map<std::string, std::pair<uint64_t, std::optional<uint64_t>>> merged;
  for (const auto& [label, n] : r.parameters) merged[label].first = n;
  for (const auto& [dtype, n] : r.hub_parameters) merged[dtype].second = n;
  for (const auto& [label, counts] : merged) {
    auto bytes = r.dtype_bytes.find(label);
    out << fmt::format("  {:<14} {:>10} {:>10} {:>7}\n", printable(label),
                       counts.first ? human_count(counts.first) : "-",
                       counts.second ? human_count(*counts.second) : "-",
                       bytes != r.dtype_bytes.end() ? fmt::format("{:.1f}%", 100 * share(bytes->second, r.bytes)) : "");
  }
  out << fmt::format("  bits per weight {:.2f} overall", r.bits_per_weight);
  if (r.quantized_bits_per_weight)
    out << fmt::format(", {:.2f} in the quantized linears (scales included)",
                       *r.quantized_bits_per_weight);
  out << "\n";

  out << "\n" << p.bold("Modules by scheme") << "\n";
  out << fmt::format("  {:<18} {:<8} {:>7} {:>10} {:>10} {:>6}  {}\n", "scheme", "kind",
                     "modules", "weights", "bytes", "bits", "e.g.");
  for (const SchemeRow& row : r.schemes) {
    out << fmt::format("  {:<18} {:<8} {:>7} {:>10} {:>10} {:>6}  {}\n", printable(row.scheme),
                       row.linear ? "linear" : "other", row.modules, human_count(row.parameters),
                       human_bytes(row.bytes),
                       row.parameters ? fmt::format("{:.2f}", 8.0 * share(row.bytes, row.parameters))
                                      : "-",
                       p.dim(printable(row.example)));
  }

  out << "\n" << p.bold("Shards") << "\n";
  for (const ShardRow& s : r.shards) {
    out << fmt::format("  {:<40} {:>10} {:>7} tensors, header {}\n", printable(s.file),
                       human_bytes(s.bytes), s.tensors, human_bytes(s.header_bytes));
  }

  if (r.tensors_listed) {
    out << "\n" << p.bold("Tensors") << fmt::format(" ({})\n", r.tensor_rows.size());
    for (const TensorRow& t : r.tensor_rows) {
      out << fmt::format("  {}  {} {}  {}  {}\n", printable(t.name), t.dtype, shape_text(t.shape),
                         human_bytes(t.bytes), p.dim(printable(t.shard)));
    }
  }
}

void write_inspect_json(std::ostream& out, const InspectReport& r) {
  using nlohmann::json;
  json doc;
  doc["version"] = 1;
  doc["checkpoint"] = {{"location", r.location},
                       {"single_file", r.single_file},
                       {"configs_read", r.configs_read}};
  doc["architecture"] = {{"architectures", r.architectures},
                         {"model_type", r.model_type.empty() ? json() : json(r.model_type)},
                         {"dtype", r.torch_dtype.empty() ? json() : json(r.torch_dtype)},
                         {"num_hidden_layers", r.layers ? json(*r.layers) : json()}};
  json groups = json::array();
  for (const auto& g : r.groups) {
    groups.push_back({{"name", g.name},
                      {"format", g.format},
                      {"bits", g.bits},
                      {"group_size", g.group_size},
                      {"block", g.block ? json{(*g.block)[0], (*g.block)[1]} : json()},
                      {"input_activations", g.input},
                      {"targets", g.targets}});
  }
  doc["quantization"] = {{"method", r.quant_method},
                         {"description", r.quantization},
                         {"groups", groups},
                         {"ignore_key", r.ignore_key},
                         {"ignore_entries", r.ignore_entries},
                         {"kv_cache", r.kv_cache}};
  doc["parameters"] = {{"total", r.parameters_total},
                       {"by_storage", r.parameters},
                       {"hub_total", r.hub_total},
                       {"hub_by_dtype", r.hub_parameters}};
  doc["bytes"] = {{"total", r.bytes}, {"by_dtype", r.dtype_bytes}};
  doc["bits_per_weight"] = {
      {"overall", r.bits_per_weight},
      {"quantized_linears",
       r.quantized_bits_per_weight ? json(*r.quantized_bits_per_weight) : json()}};
  json schemes = json::array();
  for (const SchemeRow& row : r.schemes) {
    schemes.push_back({{"scheme", row.scheme},
                       {"linear", row.linear},
                       {"modules", row.modules},
                       {"parameters", row.parameters},
                       {"bytes", row.bytes},
                       {"example", row.example}});
  }
  doc["schemes"] = schemes;
  json shards = json::array();
  for (const ShardRow& s : r.shards) {
    shards.push_back({{"file", s.file},
                      {"bytes", s.bytes},
                      {"header_bytes", s.header_bytes},
                      {"tensors", s.tensors}});
  }
  doc["shards"] = shards;
  doc["tensor_count"] = r.tensors;
  if (r.tensors_listed) {
    json tensors = json::array();
    for (const TensorRow& t : r.tensor_rows) {
      tensors.push_back({{"name", t.name},
                         {"dtype", t.dtype},
                         {"shape", t.shape},
                         {"bytes", t.bytes},
                         {"parameters", t.parameters},
                         {"shard", t.shard},
                         {"scheme", t.scheme}});
    }
    doc["tensors"] = tensors;
  }
  // Names come from untrusted headers: replace invalid UTF-8 rather than throw mid-report.
  out << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

}  // namespace ckd
