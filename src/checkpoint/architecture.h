// The architecture model: config.json + one family file of rules/architectures/*.json -> the
// tensors the model class defines (names as its state_dict writes them, shapes from the config
// sizes), and the diff of that list against the checkpoint's tensor table. The diff is computed
// once per scan (ScanState::architecture_diff) and read by the architecture rules, the heuristic
// key rules (to stay silent where the diff already explains a defect) and the prefix fix.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ckd {

class Checkpoint;
struct QuantScheme;

// What every layer / expert copy of one family entry shares.
struct ExpectedEntry {
  std::string stack;  // "text", "vision", "mtp", "head": which prefix it lives under
  std::vector<uint64_t> shape;
  std::string size_names;  // which config sizes each dim comes from ("vocab, hidden")
};

// One expected tensor, under the class's full name. The bench model expands 31k of them: the
// names live in the diff's arena and the facts of their family entry are shared, so one costs
// 48 bytes and no allocation.
struct ExpectedTensor {
  std::string_view name;
  std::string_view stack;  // the entry's
  bool optional = false;   // loaded when present, never missing (a tied lm_head, a shared MTP head)
  bool linear = false;     // a matrix a quantization may pack (shape checked as logical shape)
  const ExpectedEntry* entry = nullptr;

  const std::vector<uint64_t>& shape() const { return entry->shape; }
  // Which config sizes each dim comes from, for messages ("vocab, hidden").
  const std::string& size_names() const { return entry->size_names; }
};

// Where the expected tensors' names and entries live (shared by copies of a diff).
struct ExpectedStorage;

// A stack whose keys sit under another prefix than the class expects.
struct LayoutChange {
  std::string stack;
  std::string from;  // the prefix found in the checkpoint ("model.language_model.language_model.")
  std::string to;    // the prefix the class expects ("model.language_model.")
  size_t count = 0;  // tensors under `from` that the change maps onto expected names
  std::string example;
  // First segments after `from` that belong to the stack ("embed_tokens", "layers", "norm"):
  // a name outside them keeps its prefix (model.visual.* is not text under "model.").
  std::vector<std::string> roots;
};

struct ShapeMismatch {
  std::string tensor;  // the checkpoint's name
  std::vector<uint64_t> actual;
  std::vector<uint64_t> expected;  // logical shape
  std::string size_names;
  bool packed = false;  // compared as a quantized weight's logical shape
};

struct ArchitectureDiff {
  enum class Status {
    kNoConfig,      // no config.json, or no "architectures": nothing to model, nothing said
    kUnknown,       // a class no family file describes
    kIncomplete,    // a known class whose config lacks a size the family needs
    kModeled,
  };
  Status status = Status::kNoConfig;
  std::string class_name;
  std::string family;
  std::string family_source;  // the model code the family file was read from
  std::string reason;         // kUnknown / kIncomplete: why there is no model

  std::vector<ExpectedTensor> expected;
  std::shared_ptr<const ExpectedStorage> expected_storage;  // what `expected` points into
  std::vector<LayoutChange> layout;
  std::vector<size_t> missing;  // indices into `expected`
  std::vector<ShapeMismatch> shapes;
  std::vector<std::string> unexpected;  // checkpoint names no class loads
  // Per tensor-parallel size (1, 2, 4, 8): empty when allowed, else the first reason it is not.
  std::map<int, std::string> tensor_parallel;

  bool modeled() const { return status == Status::kModeled; }
  // Whether any missing tensor lives in `stack`, or has `segment` in its name.
  bool missing_in_stack(std::string_view stack) const;
  bool missing_with(std::string_view segment) const;
};

// The class the config names and the family that describes it; nullptr-safe on hostile configs.
ArchitectureDiff diff_against_architecture(const Checkpoint& ck);

// The first half of that diff: the class's expected tensors and their name index, before any
// tensor is compared. It reads only the configs and the scheme, so a scan builds it beside the
// parse of the shard headers (OpenOptions::beside_shard_headers).
class ArchitectureModel;
std::shared_ptr<ArchitectureModel> model_architecture(const nlohmann::json* config,
                                                      const QuantScheme& scheme);
// The diff from a model_architecture() of the checkpoint's own config and scheme; it takes the
// model's tables (the model is spent).
ArchitectureDiff diff_against_architecture(const Checkpoint& ck,
                                           std::shared_ptr<ArchitectureModel> model);

// The same, with family files given as JSON texts (tests; the builtin ones are embedded).
ArchitectureDiff diff_against_architecture(
    const Checkpoint& ck, const std::vector<std::pair<std::string, std::string>>& family_files);

// Every family file's name and the classes it describes (for `ckptdoctor rules` / README checks).
std::vector<std::pair<std::string, std::vector<std::string>>> architecture_families();

// The diff of tensor names alone (an index whose shards are absent): no shapes are checked.
ArchitectureDiff diff_names_against_architecture(const nlohmann::json& config,
                                                 const std::vector<std::string>& names);

// Expected tensors of `config` alone (no checkpoint): used by tests on real configs.
ArchitectureDiff expected_tensors_for_config(const nlohmann::json& config);

// Applies the diff's layout changes to one tensor name (the fix's rename).
std::string apply_layout(const std::string& name, const std::vector<LayoutChange>& layout);

}  // namespace ckd
