// With --source: the quantized keys differ from the BF16 source's by one consistent prefix
// change (FAILURES.md B1-B5). Names the change, how many keys it explains and one example.
#include "checkpoint/key_map.h"
#include "rules/checks/util.h"

namespace ckd {
namespace {

std::string describe(const PrefixChange& c) {
  const std::string& from = c.from;
  const std::string& to = c.to;
  if (from.size() > to.size() && from.compare(0, to.size(), to) == 0) {
    return fmt::format("an extra \"{}\" after \"{}\"", from.substr(to.size()), to);
  }
  if (to.size() > from.size() && to.compare(0, from.size(), from) == 0) {
    return fmt::format("a missing \"{}\" after \"{}\"", to.substr(from.size()), from);
  }
  return fmt::format("prefix \"{}\" where the source has \"{}\"", from, to);
}

class KeyPrefixMismatchCheck : public Check {
 public:
  bool needs_source() const override { return true; }
  void run(const CheckContext& ctx) const override {
    if (!ctx.source()) return;
    const auto& change = ctx.source_diff().change;
    double min_share = ctx.param("min_share", 0.5);
    if (!change ||
        static_cast<double>(change->count) < min_share * static_cast<double>(change->unmatched))
      return;
    const TensorRef* example = ctx.checkpoint().find(change->example_from);
    ctx.emit(*example,
             fmt::format("keys differ from the source by {}: this explains {} of {} keys "
                         "not found in the source (e.g. {} ↔ {})",
                         describe(*change), with_commas(change->count),
                         with_commas(change->unmatched), change->example_from, change->example_to));
  }
};

}  // namespace

std::unique_ptr<Check> make_key_prefix_mismatch_check() {
  return std::make_unique<KeyPrefixMismatchCheck>();
}

}  // namespace ckd
