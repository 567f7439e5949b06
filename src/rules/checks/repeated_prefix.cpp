// Keys with a wrapper segment written twice, e.g. "model.language_model.language_model.layers"
// (FAILURES.md B2): a non-idempotent rename on save. vLLM raises KeyError on every one.
#include <map>

#include "checkpoint/architecture.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

class RepeatedPrefixCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    // With a modeled architecture, key-layout-mismatch names the same defect with the prefix
    // the class expects; saying it twice helps nobody.
    const ArchitectureDiff& arch = ctx.architecture_diff();
    if (arch.modeled() && !arch.layout.empty()) return;
    std::vector<std::string> wrappers;
    const nlohmann::json wrapper_list = ctx.params().value("segments", nlohmann::json::array());
    for (const auto& s : wrapper_list) wrappers.push_back(s.get<std::string>());
    struct Hit {
      size_t count = 0;
      size_t repeats = 0;
      const TensorRef* example = nullptr;
    };
    std::map<std::string, Hit> hits;
    RepeatedSegmentWalk walk(std::move(wrappers));  // the names are sorted
    for (size_t n = 0; n < ck.tensor_names().size(); ++n) {
      const RepeatedSegmentWalk::Hit found = walk.next(ck.tensor_names()[n]);
      if (found.run == 0) continue;
      Hit& h = hits[std::string(found.segment)];
      if (h.count++ == 0) h.example = ck.tensor_refs()[n];
      h.repeats = std::max(h.repeats, found.run);
    }
    for (const auto& [segment, hit] : hits) {
      std::string extra;
      for (size_t i = 1; i < hit.repeats; ++i) extra += segment + ".";
      ctx.emit(*hit.example,
               fmt::format("{} of {} keys repeat \"{}.\" {} times in a row; loaders expect it once "
                           "(KeyError in vLLM); fix: ckptdoctor fix --strip-prefix {}",
                           with_commas(hit.count), with_commas(ck.tensor_names().size()), segment,
                           hit.repeats, extra));
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_repeated_prefix_check() {
  return std::make_unique<RepeatedPrefixCheck>();
}

}  // namespace ckd
