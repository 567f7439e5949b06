#include "checkpoint/bnb_quant_state.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/module_table.h"
#include "io/checked.h"
#include "io/json_depth.h"

namespace ckd {

namespace {

constexpr size_t kMaxRank = 8;

std::optional<uint64_t> positive_int(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const nlohmann::json& v = j[key];
  if (v.is_number_unsigned() && v.get<uint64_t>() > 0) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() > 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

std::optional<std::string> text(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
  return j[key].get<std::string>();
}

}  // namespace

BnbQuantStateParse parse_bnb_quant_state(std::string_view bytes) {
  if (bytes.size() > kMaxBnbQuantStateBytes)
    return {std::nullopt, fmt::format("{} bytes, more than the {} a quant state takes",
                                      bytes.size(), kMaxBnbQuantStateBytes)};
  nlohmann::json j;
  try {
    j = parse_json_capped(bytes);
  } catch (const std::exception& e) {
    return {std::nullopt, fmt::format("not JSON ({})", e.what())};
  }
  if (!j.is_object()) return {std::nullopt, "not a JSON object"};
  BnbQuantState s;
  auto type = text(j, "quant_type");
  if (!type || (*type != "nf4" && *type != "fp4"))
    return {std::nullopt, "quant_type is not \"nf4\" or \"fp4\""};
  s.quant_type = *type;
  auto blocksize = positive_int(j, "blocksize");
  if (!blocksize) return {std::nullopt, "blocksize is not a positive integer"};
  s.blocksize = *blocksize;
  s.dtype = text(j, "dtype").value_or("");
  if (!j.contains("shape") || !j["shape"].is_array() || j["shape"].empty() ||
      j["shape"].size() > kMaxRank)
    return {std::nullopt, fmt::format("shape is not a list of 1 to {} sizes", kMaxRank)};
  uint64_t numel = 1;
  for (const nlohmann::json& d : j["shape"]) {
    uint64_t v = 0;
    if (d.is_number_unsigned()) v = d.get<uint64_t>();
    if (d.is_number_integer() && d.get<int64_t>() > 0) v = static_cast<uint64_t>(d.get<int64_t>());
    auto product = checked_mul(numel, v);
    if (v == 0 || !product) return {std::nullopt, "shape holds a size that is not positive"};
    numel = *product;
    s.shape.push_back(v);
  }
  s.numel = numel;
  if (j.contains("nested_blocksize") || j.contains("nested_offset")) {
    s.nested = true;
    auto nested_blocksize = positive_int(j, "nested_blocksize");
    if (!nested_blocksize) return {std::nullopt, "nested_blocksize is not a positive integer"};
    s.nested_blocksize = *nested_blocksize;
    if (!j.contains("nested_offset") || !j["nested_offset"].is_number())
      return {std::nullopt, "nested_offset is not a number"};
    s.nested_offset = static_cast<float>(j["nested_offset"].get<double>());
    s.nested_dtype = text(j, "nested_dtype").value_or("");
  }
  return {std::move(s), ""};
}

const ModuleParam* bnb_quant_state_param(const Module& m) {
  for (const ModuleParam& p : m.params) {
    if (!bnb_quant_state_suffix(p.name).empty()) return &p;
  }
  return nullptr;
}

std::string_view bnb_quant_state_suffix(std::string_view param) {
  constexpr std::string_view kPrefix = "weight.quant_state.bitsandbytes__";
  if (!param.starts_with(kPrefix)) return {};
  return param.substr(kPrefix.size());
}

}  // namespace ckd
