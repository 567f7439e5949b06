// Keys with a wrapper segment written twice, e.g. "model.language_model.language_model.layers"
// (FAILURES.md B2): a non-idempotent rename on save. vLLM raises KeyError on every one.
#include <map>

#include "rules/checks/util.h"

namespace ckd {
namespace {

class RepeatedPrefixCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    const Checkpoint& ck = ctx.checkpoint();
    std::vector<std::string> wrappers;
    for (const auto& s : ctx.params().value("segments", nlohmann::json::array())) wrappers.push_back(s.get<std::string>());
    struct Hit {
      size_t count = 0;
      size_t repeats = 0;
      const TensorRef* example = nullptr;
    };
    std::map<std::string, Hit> hits;
    for (const std::string& name : ck.tensor_names()) {
      std::vector<std::string_view> segments;
      std::string_view rest = name;
      while (true) {
        size_t dot = rest.find('.');
        segments.push_back(rest.substr(0, dot));
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
      }
      for (size_t i = 0; i + 1 < segments.size(); ++i) {
        if (segments[i] != segments[i + 1]) continue;
        bool is_wrapper = std::find(wrappers.begin(), wrappers.end(), segments[i]) != wrappers.end();
        if (!is_wrapper) continue;
        size_t run = 1;
        while (i + run < segments.size() && segments[i + run] == segments[i]) ++run;
        Hit& h = hits[std::string(segments[i])];
        if (h.count++ == 0) h.example = ck.find(name);
        h.repeats = std::max(h.repeats, run);
        break;
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

std::unique_ptr<Check> make_repeated_prefix_check() { return std::make_unique<RepeatedPrefixCheck>(); }

}  // namespace ckd
