// ckptdoctor diff A B: two checkpoints side by side from their headers and small files. Keys
// only in one, keys renamed (a prefix change, per-expert vs fused experts, packed vs plain
// weight names: the --source normalisation of checkpoint/key_map.h), dtype and shape changes,
// config.json and quantization-config differences by JSON path, and the companion files an
// engine loads beside the weights (tokenizer, chat template, generation config...) by size and
// SHA-256: a quantized release that changed them by accident serves a different model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "checkpoint/key_map.h"

namespace ckd {

struct TensorChange {
  std::string a_name, b_name;  // equal unless the tensor was renamed
  std::string a_dtype, b_dtype;
  std::vector<uint64_t> a_shape, b_shape;
};

// Tensors of A and B that are one module's under different names.
struct KeyRename {
  std::string kind;  // "prefix", "experts" (per-expert vs fused), "packing", joined by '+'
  std::vector<std::string> a, b;
};

// One difference between two JSON documents, at an RFC 6901 pointer.
struct JsonChange {
  std::string file;  // "config.json", "hf_quant_config.json"
  std::string path;
  std::string change;  // "added" (only in B), "removed" (only in A), "changed"
  nlohmann::json a, b;  // null for the side that lacks it
};

struct FileFacts {
  uint64_t bytes = 0;
  std::string sha256;
};

struct FileChange {
  std::string name;
  std::string change;  // "only_in_a", "only_in_b", "differ"
  std::optional<FileFacts> a, b;
};

struct CheckpointDiff {
  std::string a, b;  // locations
  size_t a_tensors = 0, b_tensors = 0;
  size_t same_tensors = 0;  // same name, dtype and shape
  std::vector<std::string> only_in_a, only_in_b;
  std::vector<KeyRename> renamed;
  std::optional<PrefixChange> prefix;  // the prefix rewrite that explains the most renames
  std::vector<TensorChange> changed;   // dtype or shape differs (renamed pairs included)
  std::vector<JsonChange> config;       // config.json, quantization_config left out
  std::vector<JsonChange> quantization;  // quantization_config / hf_quant_config.json
  bool files_compared = false;  // false when A or B is a lone file (nothing beside it)
  size_t files_same = 0;
  std::vector<FileChange> files;

  bool same() const {
    return only_in_a.empty() && only_in_b.empty() && renamed.empty() && changed.empty() &&
           config.empty() && quantization.empty() && files.empty();
  }
};

// Companion files compared by digest: tokenizer*, chat_template*, generation_config.json,
// preprocessor/processor configs, special_tokens_map.json, added_tokens.json, vocab.*,
// merges.txt, *.tiktoken.
bool is_companion_file(std::string_view name);

// Differences of two JSON documents (nlohmann::json::diff, an RFC 6902 patch, read back as
// pairs of values).
std::vector<JsonChange> diff_json(const std::string& file, const nlohmann::json& a,
                                  const nlohmann::json& b);

// Tensor names only: what diff_checkpoints reports about keys, dtypes and shapes.
void diff_tensors(const Checkpoint& a, const Checkpoint& b, CheckpointDiff& out);

// Everything. Reads the companion files of both stores (at most kMaxCompanionBytes each).
// Throws IoError when a checkpoint cannot be read (unreadable_reason) or a file cannot be
// fetched: a diff never says "same" about what it could not read.
CheckpointDiff diff_checkpoints(const Checkpoint& a, const Checkpoint& b);

inline constexpr uint64_t kMaxCompanionBytes = 256ull << 20;

}  // namespace ckd
