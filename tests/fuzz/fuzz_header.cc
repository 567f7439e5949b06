// libFuzzer target: arbitrary bytes through the shard reader (header parse, validation, and
// decoding of every readable tensor's first elements). Any crash, leak or UB is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "numerics/float_decode.h"
#include "safetensors/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto source = std::make_unique<ckd::MemorySource>(
      "fuzz.safetensors", std::string(reinterpret_cast<const char*>(data), size));
  auto shard = ckd::Shard::parse(std::move(source), "fuzz.safetensors");
  for (const auto& t : shard->tensors()) {
    if (!t.readable || !t.dtype) continue;
    std::string_view bytes = shard->tensor_bytes(t);
    for (uint64_t i = 0; i < std::min<uint64_t>(t.numel, 4); ++i) {
      if (bytes.size() >= (i + 1) * ckd::dtype_bits(*t.dtype) / 8 &&
          ckd::dtype_bits(*t.dtype) >= 8) {
        (void)ckd::decode_element(*t.dtype, bytes, i);
      }
    }
  }
  return 0;
}
