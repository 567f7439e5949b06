// libFuzzer target: arbitrary bytes through the index parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "checkpoint/checkpoint.h"
#include "io/json_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> duplicates;
  try {
    auto index = ckd::parse_index_json(std::string(reinterpret_cast<const char*>(data), size),
                                       &duplicates);
    for (size_t i = 0; i < index.size(); ++i) (void)index.tensor(i), (void)index.shard_of(i);
  } catch (const ckd::JsonError&) {
  }
  return 0;
}
