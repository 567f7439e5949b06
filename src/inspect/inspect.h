// What a checkpoint holds, without judging it (ckptdoctor inspect): the declared architecture
// and quantization, parameter counts per dtype (the Hub's way and unpacked), effective bits per
// weight, modules grouped by storage scheme, shards, and the tensors a glob selects. Built from
// the headers alone.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"

namespace ckd {

// Why the checkpoint's headers cannot be read as a whole (a shard whose header does not parse,
// a missing or unsafe shard, an index or config that is not JSON): inspect and diff describe
// only what they could read, so this stops them (exit 2). Empty when everything was read.
std::string unreadable_reason(const Checkpoint& ck);

// Parameters of one tensor as huggingface_hub counts them (utils/_safetensors.py TensorInfo:
// the product of the shape, 1 for a scalar): stored elements, whatever they pack.
uint64_t hub_parameter_count(const TensorInfo& t);

struct SchemeRow {
  std::string scheme;  // "NVFP4", "FP8 block", or the stored dtype of an unquantized weight
  bool linear = false;  // quantization targets (linears); false: embeddings, norms, routers...
  size_t modules = 0;
  // Weight values held (packed codes unpacked); for a module without a weight (A_log), the
  // elements of its tensors.
  uint64_t parameters = 0;
  uint64_t bytes = 0;              // every tensor of these modules: weights, scales, zeros, bias
  std::string example;             // the first module path, in name order
};

struct ShardRow {
  std::string file;
  uint64_t bytes = 0;
  uint64_t header_bytes = 0;
  size_t tensors = 0;
};

struct TensorRow {
  std::string name;
  std::string dtype;  // as the header wrote it ("?" when unknown)
  std::vector<uint64_t> shape;
  uint64_t bytes = 0;
  uint64_t parameters = 0;  // held (unpacked)
  std::string shard;
  std::string scheme;  // of its module (SchemeRow::scheme)
};

struct InspectReport {
  std::string location;
  bool single_file = false;
  bool configs_read = false;  // single file: whether configs beside it were read (see LocalStore)
  // config.json
  std::vector<std::string> architectures;
  std::string model_type;
  std::string torch_dtype;
  std::optional<uint64_t> layers;  // num_hidden_layers
  // The declaration (QuantScheme), described.
  std::string quantization;  // describe_scheme()
  std::string quant_method;  // quant_method_name(), "none" when nothing is declared
  struct Group {
    std::string name, format;
    int bits = 0;
    uint64_t group_size = 0;
    std::optional<std::array<uint64_t, 2>> block;
    std::string input;  // "none", "dynamic", "static"
    size_t targets = 0;
  };
  std::vector<Group> groups;
  size_t ignore_entries = 0;
  std::string ignore_key;
  bool kv_cache = false;

  size_t tensors = 0;
  uint64_t bytes = 0;
  // Stored dtype -> elements (huggingface_hub parameter_count: packed codes count as stored).
  std::map<std::string, uint64_t> hub_parameters;
  uint64_t hub_total = 0;
  // Storage -> parameters held: packed weights counted as the weights they hold, under a
  // label naming the packing ("FP4 in U8", "INT4 in I32"); every other tensor as the Hub does.
  std::map<std::string, uint64_t> parameters;
  uint64_t parameters_total = 0;
  std::map<std::string, uint64_t> dtype_bytes;
  // 8 x bytes / parameters held: the whole checkpoint, and the quantized linears alone
  // (their weights, scales, zero points and g_idx over their weight elements).
  double bits_per_weight = 0;
  std::optional<double> quantized_bits_per_weight;
  std::vector<SchemeRow> schemes;  // linear rows first, then by bytes
  std::vector<ShardRow> shards;
  bool tensors_listed = false;  // --filter or --tensors given
  std::vector<TensorRow> tensor_rows;
};

struct InspectOptions {
  std::vector<std::string> filters;  // globs (glob_match); a tensor matching any is listed
  bool all_tensors = false;
};

InspectReport inspect_checkpoint(const Checkpoint& ck, const InspectOptions& options);

}  // namespace ckd
