#include "inspect/inspect.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "io/checked.h"
#include "numerics/formats.h"
#include "scan/scan.h"

namespace ckd {

namespace {

uint64_t saturating_add(uint64_t a, uint64_t b) {
  auto sum = checked_add(a, b);
  return sum ? *sum : std::numeric_limits<uint64_t>::max();
}

std::string problem_text(const LoadProblem& p) {
  switch (p.kind) {
    case LoadProblemKind::kMissingShard:
      return fmt::format("{}: the shard is missing", p.file);
    case LoadProblemKind::kUnreadableShard:
      return fmt::format("{}: cannot be read: {}", p.file, p.message);
    default:
      return fmt::format("{}: {}", p.file, p.message);
  }
}

// The weight elements a packed weight holds, under the format that declares it; nullopt when
// the weight is not packed (or the declaration does not say how).
struct Unpacked {
  uint64_t parameters;
  std::string label;  // "FP4 in U8", "INT4 in I32"
};

std::optional<Unpacked> unpacked_weight(const Module& m, const TensorInfo& w) {
  if (!m.group || !w.dtype || !w.shape_valid || w.shape.size() < 2) return std::nullopt;
  const WeightFormatTraits* traits = format_traits(m.group->format);
  if (!traits || traits->packing == WeightPacking::kOnePerElement ||
      !traits->weight_dtypes.contains(*w.dtype)) {
    return std::nullopt;
  }
  if (traits->packing == WeightPacking::kFp4PerByte && *w.dtype != Dtype::kU8) return std::nullopt;
  size_t r = w.shape.size();
  uint64_t lead = 1;
  for (size_t i = 0; i + 2 < r; ++i) lead *= w.shape[i];  // shape_valid: the product fits
  int bits = m.group->bits;
  auto matrix = logical_matrix(*traits, *w.dtype, bits, w.shape[r - 2], w.shape[r - 1]);
  std::optional<uint64_t> held;
  if (matrix && matrix->in > 0) {
    auto per = checked_mul(matrix->out, matrix->in);
    if (per) held = checked_mul(*per, lead);
  } else if (bits > 0 && bits <= 32 && traits->packing == WeightPacking::kInt32AlongRow) {
    // compressed-tensors pads each row to whole words: the row's capacity, at most 31/bits
    // values more than the true width (the exact width lives in weight_shape's data).
    held = checked_mul(w.numel, static_cast<uint64_t>(32 / bits));
  }
  if (!held) return std::nullopt;
  std::string label = traits->packing == WeightPacking::kFp4PerByte
                          ? "FP4 in U8"
                          : fmt::format("INT{} in {}", bits, dtype_name(*w.dtype));
  return Unpacked{*held, std::move(label)};
}

std::string scheme_of(const Module& m) {
  if (m.group && m.quantized) return weight_format_name(m.group->format);
  const ModuleParam* w = m.weight();
  if (!w && !m.params.empty()) w = &m.params.front();
  if (!w || !w->ref->info->dtype) return "?";
  return std::string(dtype_name(*w->ref->info->dtype));
}

const char* input_name(InputActivations a) {
  switch (a) {
    case InputActivations::kNone:
      return "none";
    case InputActivations::kDynamic:
      return "dynamic";
    case InputActivations::kStatic:
      return "static";
  }
  return "none";
}

}  // namespace

std::string unreadable_reason(const Checkpoint& ck) {
  std::vector<std::string> reasons;
  for (const LoadProblem& p : ck.problems()) {
    if (p.kind == LoadProblemKind::kDuplicateIndexKey) continue;
    reasons.push_back(problem_text(p));
  }
  for (const auto& shard : ck.shards()) {
    for (const ShardIssue& issue : shard->issues()) {
      if (!issue.rejected()) continue;
      reasons.push_back(fmt::format("{}: {}{}", shard->display_name(),
                                    issue.tensor.empty() ? "" : issue.tensor + ": ",
                                    issue.message));
      break;  // one line per file is enough to say it cannot be read
    }
  }
  if (reasons.empty()) return "";
  std::string out = reasons.front();
  if (reasons.size() > 1) out += fmt::format(" (and {} more problems; ckptdoctor scan lists them)",
                                             reasons.size() - 1);
  return out;
}

uint64_t hub_parameter_count(const TensorInfo& t) {
  if (t.shape.empty()) return 1;  // a scalar: reduce() over no dimensions raises, the Hub says 1
  return t.shape_valid ? t.numel : 0;
}

InspectReport inspect_checkpoint(const Checkpoint& ck, const InspectOptions& options) {
  InspectReport out;
  out.location = ck.dir();
  if (ck.store().is_local()) {
    const auto& local = static_cast<const LocalStore&>(ck.store());
    out.single_file = !local.single_file_name().empty();
    out.configs_read = !out.single_file || local.reads_configs_beside();
  } else {
    out.configs_read = true;
  }

  if (const nlohmann::json* c = ck.config()) {
    if (auto it = c->find("architectures"); it != c->end() && it->is_array()) {
      for (const auto& a : *it) {
        if (a.is_string()) out.architectures.push_back(a.get<std::string>());
      }
    }
    if (auto it = c->find("model_type"); it != c->end() && it->is_string())
      out.model_type = it->get<std::string>();
    for (const char* key : {"torch_dtype", "dtype"}) {
      const nlohmann::json* v = ck.config_value(key);
      if (v && v->is_string()) {
        out.torch_dtype = v->get<std::string>();
        break;
      }
    }
    const nlohmann::json* layers = ck.config_value("num_hidden_layers");
    if (layers && layers->is_number_unsigned()) out.layers = layers->get<uint64_t>();
  }

  const QuantScheme& s = ck.scheme();
  out.quantization = describe_scheme(s);
  out.quant_method = s.method == QuantMethod::kNone ? "none" : quant_method_name(s.method);
  if (s.method == QuantMethod::kUnknown) out.quant_method = s.method_name;
  for (const QuantGroup& g : s.groups) {
    out.groups.push_back({g.name, weight_format_name(g.format), g.bits, g.group_size, g.block,
                          input_name(g.input), g.targets.size()});
  }
  // sparse-24-bitmask's groups (the quantization stacked under the sparsity, or none), as far
  // as a module follows one.
  for (const QuantGroup& g : s.sparse_groups) {
    const auto& modules = ck.modules().modules();
    if (std::none_of(modules.begin(), modules.end(), [&](const Module& m) { return m.group == &g; }))
      continue;
    out.groups.push_back({g.name, weight_format_name(g.format), g.bits, g.group_size, g.block,
                          input_name(g.input), g.targets.size()});
  }
  out.ignore_entries = s.ignore.size();
  out.ignore_key = s.ignore_key;
  out.kv_cache = s.kv_cache;

  // Per tensor: the parameters a packed weight holds, and its module's scheme.
  std::unordered_map<const TensorInfo*, Unpacked> unpacked;
  std::unordered_map<const TensorInfo*, std::string> scheme_by_tensor;
  std::map<std::pair<bool, std::string>, SchemeRow> rows;
  uint64_t quant_bytes = 0, quant_weights = 0;
  for (const Module& m : ck.modules().modules()) {
    std::string scheme = scheme_of(m);
    SchemeRow& row = rows[{!m.linear, scheme}];
    if (row.modules++ == 0) {
      row.scheme = scheme;
      row.linear = m.linear;
      row.example = m.path;
    }
    const ModuleParam* w = m.weight();
    uint64_t weight_held = 0;
    if (w) {
      const TensorInfo& info = *w->ref->info;
      if (auto u = unpacked_weight(m, info)) {
        weight_held = u->parameters;
        unpacked.emplace(&info, std::move(*u));
      } else {
        weight_held = hub_parameter_count(info);
      }
    } else {
      // No weight (A_log, dt_bias, a bare buffer): its tensors are its parameters.
      for (const ModuleParam& p : m.params)
        weight_held = saturating_add(weight_held, hub_parameter_count(*p.ref->info));
    }
    row.parameters = saturating_add(row.parameters, weight_held);
    bool quantized_linear = m.linear && m.group && m.quantized;
    for (const ModuleParam& p : m.params) {
      row.bytes = saturating_add(row.bytes, p.ref->info->nbytes());
      scheme_by_tensor.emplace(p.ref->info, scheme);
      if (quantized_linear && p.role != TensorRole::kBias && p.role != TensorRole::kKvScale)
        quant_bytes = saturating_add(quant_bytes, p.ref->info->nbytes());
    }
    if (quantized_linear) quant_weights = saturating_add(quant_weights, weight_held);
  }
  for (auto& [key, row] : rows) out.schemes.push_back(std::move(row));
  std::stable_sort(out.schemes.begin(), out.schemes.end(),
                   [](const SchemeRow& a, const SchemeRow& b) {
                     if (a.linear != b.linear) return a.linear;
                     return a.bytes > b.bytes;
                   });

  // Counts per file, as huggingface_hub sums them (every shard the checkpoint loads).
  for (const auto& shard : ck.shards()) {
    ShardRow row{shard->display_name(), shard->file_size(), shard->header_length(), 0};
    for (const TensorInfo& t : shard->tensors()) {
      if (t.duplicate) continue;
      ++row.tensors;
      std::string dtype = t.dtype ? std::string(dtype_name(*t.dtype)) : "?";
      uint64_t hub = hub_parameter_count(t);
      out.hub_parameters[dtype] = saturating_add(out.hub_parameters[dtype], hub);
      out.hub_total = saturating_add(out.hub_total, hub);
      out.dtype_bytes[dtype] = saturating_add(out.dtype_bytes[dtype], t.nbytes());
      out.bytes = saturating_add(out.bytes, t.nbytes());
      auto u = unpacked.find(&t);
      const std::string& label = u != unpacked.end() ? u->second.label : dtype;
      uint64_t held = u != unpacked.end() ? u->second.parameters : hub;
      out.parameters[label] = saturating_add(out.parameters[label], held);
      out.parameters_total = saturating_add(out.parameters_total, held);
    }
    out.tensors += row.tensors;
    out.shards.push_back(std::move(row));
  }
  if (out.parameters_total > 0)
    out.bits_per_weight = 8.0 * static_cast<double>(out.bytes) /
                          static_cast<double>(out.parameters_total);
  if (quant_weights > 0)
    out.quantized_bits_per_weight =
        8.0 * static_cast<double>(quant_bytes) / static_cast<double>(quant_weights);

  out.tensors_listed = options.all_tensors || !options.filters.empty();
  if (out.tensors_listed) {
    const auto& names = ck.tensor_names();
    const auto& refs = ck.tensor_refs();
    for (size_t i = 0; i < names.size(); ++i) {
      bool wanted = options.all_tensors;
      for (const std::string& f : options.filters) {
        if (wanted) break;
        wanted = glob_match(f, names[i]);
      }
      if (!wanted) continue;
      const TensorInfo& t = *refs[i]->info;
      TensorRow row;
      row.name = std::string(names[i]);
      row.dtype = t.dtype ? std::string(dtype_name(*t.dtype)) : "?";
      row.shape = t.shape.vector();
      row.bytes = t.nbytes();
      auto u = unpacked.find(&t);
      row.parameters = u != unpacked.end() ? u->second.parameters : hub_parameter_count(t);
      row.shard = refs[i]->shard->display_name();
      if (auto sc = scheme_by_tensor.find(&t); sc != scheme_by_tensor.end()) row.scheme = sc->second;
      out.tensor_rows.push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace ckd
