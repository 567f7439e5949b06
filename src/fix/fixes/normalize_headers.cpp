// --normalize-headers: rewrite the headers of shards readers reject or dislike (padding that
// is not spaces, leading whitespace, data not aligned for zero-copy loads, a null __metadata__
// or one without a known "format"; FAILURES.md L2-L4). Tensor bytes are copied unchanged; only
// the header and the layout change.
#include <fmt/format.h>

#include "fix/fix.h"

namespace ckd {
namespace {

// The rule an issue is reported under, when a header rewrite repairs it.
const char* repaired_rule(const Shard& shard, ShardIssueKind kind) {
  bool repairable = kind == ShardIssueKind::kHeaderPadding ||
                    kind == ShardIssueKind::kUnalignedData ||
                    kind == ShardIssueKind::kInvalidMetadata ||
                    // an invalid header only when the padding is its sole defect
                    (kind == ShardIssueKind::kInvalidHeader && shard.only_padding_rejected());
  return repairable ? shard_issue_name(kind) : nullptr;
}

class NormalizeHeadersFix : public Fix {
 public:
  const char* name() const override { return "normalize-headers"; }
  std::vector<std::string> repairs() const override {
    return {"header-padding", "unaligned-data", "invalid-metadata", "invalid-header"};
  }
  bool requested(const FixOptions& o) const override { return o.normalize_headers; }
  void enable(FixOptions& o) const override { o.normalize_headers = true; }

  void apply(FixContext& ctx) const override {
    for (OutputShard& shard : ctx.plan.shards) {
      for (const ShardIssue& issue : shard.source->issues()) {
        const char* rule = repaired_rule(*shard.source, issue.kind);
        if (!rule) continue;
        summary(ctx, rule).add(fmt::format("{}: {}", shard.file, issue.message));
        shard.rewrite = true;
      }
      if (!shard.source->metadata()) continue;
      auto format = shard.metadata.find("format");
      if (format == shard.metadata.end() || !is_known_format(format->second)) {
        summary(ctx, "invalid-metadata")
            .add(fmt::format(
                "{}: __metadata__ format {} -> \"pt\"", shard.file,
                format == shard.metadata.end() ? "missing" : "\"" + format->second + "\""));
        shard.metadata["format"] = "pt";
        shard.rewrite = true;
      }
    }
  }

 private:
  FixSummary& summary(FixContext& ctx, const char* rule) const {
    return ctx.plan.summary(name(), rule, "shard headers rewritten");
  }
};

}  // namespace

std::unique_ptr<Fix> make_normalize_headers_fix() {
  return std::make_unique<NormalizeHeadersFix>();
}

}  // namespace ckd
