// The bitsandbytes 4-bit quant state: the JSON that QuantState.as_dict(packed=True) stores as
// the U8 tensor "<module>.weight.quant_state.bitsandbytes__<nf4|fp4>" (bitsandbytes
// functional.py as_dict / from_dict, utils.py pack_dict_to_tensor: json.dumps encoded as UTF-8
// bytes). It is untrusted input: bounded in size, parsed in linear time, every field checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ckd {

struct Module;
struct ModuleParam;

// Real quant states are 100-300 bytes; anything past this is not one.
inline constexpr size_t kMaxBnbQuantStateBytes = 4096;

struct BnbQuantState {
  std::string quant_type;       // "nf4" or "fp4"
  uint64_t blocksize = 0;       // elements per absmax
  std::string dtype;            // the dequantized weight's dtype ("bfloat16", ...)
  std::vector<uint64_t> shape;  // the logical weight shape ([out, in])
  uint64_t numel = 0;           // product of shape
  bool nested = false;          // double quantization: absmax is U8 codes
  uint64_t nested_blocksize = 0;
  float nested_offset = 0;  // added to every decoded absmax (float32, as from_dict makes it)
  std::string nested_dtype;
};

struct BnbQuantStateParse {
  std::optional<BnbQuantState> state;
  std::string error;  // why the bytes are not a quant state (when state is empty)
};

BnbQuantStateParse parse_bnb_quant_state(std::string_view bytes);

// The module's quant state tensor parameter ("weight.quant_state.bitsandbytes__nf4"), or null.
const ModuleParam* bnb_quant_state_param(const Module& m);

// "nf4" from "weight.quant_state.bitsandbytes__nf4".
std::string_view bnb_quant_state_suffix(std::string_view param);

}  // namespace ckd
