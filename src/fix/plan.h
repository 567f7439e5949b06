// What `ckptdoctor fix` will write: every output shard with its tensors (each copied from a
// source tensor or, for an unsafe fix, invented), the index, edited config files and the files
// copied unchanged. Fixes (src/fix/fixes/) edit the plan; the writer (src/fix/writer.h) carries
// it out. Building a plan reads only headers, so `--dry-run` costs what a scan costs.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"

namespace ckd {

// The fix cannot be planned (a collision, an unfixable input): nothing is written.
class FixError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OutputTensor {
  std::string name;
  Dtype dtype;
  Shape shape;
  const TensorInfo* source = nullptr;  // null for an invented tensor
  std::string bytes;                   // an invented tensor's bytes
  bool dropped = false;

  uint64_t nbytes() const { return source ? source->nbytes() : bytes.size(); }
};

struct OutputShard {
  std::string file;  // relative to the checkpoint directory; the same in the output
  const Shard* source = nullptr;
  std::vector<OutputTensor> tensors;  // source tensors in data order, then added ones
  std::map<std::string, std::string> metadata;
  bool rewrite = false;  // false: the file is copied byte for byte

  bool changed_names() const;
};

// One fix's effect, for the plan printout: how many tensors and two examples.
struct FixSummary {
  std::string fix;
  std::string repairs;  // the rule it repairs
  bool unsafe = false;
  std::string what;  // "tensors renamed", "input scales added"
  size_t count = 0;
  std::vector<std::string> examples;  // at most two

  void add(std::string example);
};

struct FixPlan {
  std::vector<OutputShard> shards;
  // The index to write; empty when the checkpoint has none and needs none.
  std::optional<std::string> index_text;
  bool index_changed = false;
  // Config files whose text a fix changed (relative name -> new text).
  std::map<std::string, std::string> edited_files;
  // Files copied unchanged (relative paths): configs, tokenizer, README, orphan shards...
  std::vector<std::string> copied_files;
  std::vector<FixSummary> summaries;
  // Set by fixes: the index must be regenerated from the output shards even if no name moved.
  bool regenerate_index = false;

  bool changes_anything() const;
  FixSummary& summary(const std::string& fix, const std::string& repairs, const std::string& what,
                      bool unsafe = false);
  // Renames every output tensor through `rename` (a name it returns unchanged stays), counting
  // each change with an example in the summary (fix, repairs, "tensors renamed").
  void rename_tensors(const std::string& fix, const std::string& repairs,
                      const std::function<std::string(const std::string&)>& rename);
  // Every output tensor (not dropped).
  template <typename F>
  void for_each_tensor(F&& f) {
    for (OutputShard& s : shards)
      for (OutputTensor& t : s.tensors)
        if (!t.dropped) f(s, t);
  }
};

// The starting plan: every shard copied unchanged, in the source's data order. Throws FixError
// when the checkpoint cannot be rewritten without loss (a shard that does not load, a shard
// the index names but that is missing, a tensor in two shards).
FixPlan initial_plan(const Checkpoint& ck);

// After the fixes: refuses name collisions, marks the shards to rewrite, builds the index and
// the list of files to copy. Throws FixError on a collision.
void finish_plan(const Checkpoint& ck, FixPlan& plan);

// The index text for the output shards (sorted weight_map, recomputed total_size, the source
// index's other metadata kept), in the layout transformers writes.
std::string index_json_for(const FixPlan& plan, nlohmann::ordered_json metadata);

// Applies `edit` to every string (values and object keys) in the quantization sections of
// config.json and in hf_quant_config.json; records changed files in plan.edited_files.
// Returns how many strings changed.
size_t edit_quantization_config_strings(const Checkpoint& ck, FixPlan& plan,
                                        const std::function<std::string(const std::string&)>& edit);

}  // namespace ckd
