// The set of shard files: orphans next to an index (FAILURES.md I3), several shards and no index.
#include <stdexcept>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class ShardSetCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    std::string mode = ctx.param("mode", std::string());
    if (mode == "orphan") {
      for (const std::string& f : ck.orphan_files()) {
        ctx.emit(f, "",
                 "not referenced by the index; loaders that glob *.safetensors will merge it "
                 "with the real shards (a stale file?)");
      }
    } else if (mode == "missing-index") {
      if (!ck.has_index_file() && ck.shards().size() > 1) {
        ctx.emit("", "",
                 fmt::format("{} safetensors files but no model.safetensors.index.json; "
                             "transformers and vLLM need the index to load shards",
                             ck.shards().size()));
      }
    } else {
      throw std::runtime_error("shard-set: unknown mode " + mode);
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_shard_set_check() {
  return std::make_unique<ShardSetCheck>();
}

}  // namespace ckd
