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
    for (size_t n = 0; n < ck.tensor_names().size(); ++n) {
      std::string_view name = ck.tensor_names()[n];
      // Walk adjacent segment pairs without splitting the name into a vector.
      std::string_view rest = name;
      std::string_view previous;
      bool have_previous = false;
      while (!rest.empty()) {
        size_t dot = rest.find('.');
        std::string_view segment = rest.substr(0, dot);
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        if (have_previous && segment == previous &&
            std::find(wrappers.begin(), wrappers.end(), segment) != wrappers.end()) {
          size_t run = 2;
          std::string_view tail = rest;
          while (!tail.empty() && tail.substr(0, tail.find('.')) == segment) {
            ++run;
            size_t next_dot = tail.find('.');
            tail =
                next_dot == std::string_view::npos ? std::string_view() : tail.substr(next_dot + 1);
          }
          Hit& h = hits[std::string(segment)];
          if (h.count++ == 0) h.example = ck.tensor_refs()[n];
          h.repeats = std::max(h.repeats, run);
          break;
        }
        previous = segment;
        have_previous = true;
      }
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
