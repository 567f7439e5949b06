// Reports the container problems the shard reader recorded (FORMATS.md §1.2): one check kind
// bound by rules/container.json to invalid-header, invalid-offsets, file-size-mismatch, ...
#include <stdexcept>

#include "rules/checks/util.h"

namespace ckd {
namespace {

// The issue kind a rule's "issue" parameter names (shard_issue_name's spelling).
ShardIssueKind kind_of(const std::string& issue) {
  for (ShardIssueKind kind : {ShardIssueKind::kInvalidHeader, ShardIssueKind::kInvalidOffsets,
                              ShardIssueKind::kFileSizeMismatch, ShardIssueKind::kLfsPointer,
                              ShardIssueKind::kHeaderPadding, ShardIssueKind::kUnalignedData,
                              ShardIssueKind::kInvalidMetadata}) {
    if (issue == shard_issue_name(kind)) return kind;
  }
  throw std::runtime_error("shard-issues: unknown issue kind " + issue);
}

class ShardIssuesCheck : public Check {
 public:
  void run(const CheckContext& ctx) const override {
    ShardIssueKind kind = kind_of(ctx.param("issue", std::string()));
    for (const auto& shard : ctx.checkpoint().shards()) {
      for (const ShardIssue& issue : shard->issues()) {
        if (issue.kind != kind) continue;
        if (issue.omitted) {
          ctx.emit_omitted(shard->display_name(), issue.omitted, issue.message);
        } else {
          ctx.emit(shard->display_name(), issue.tensor, issue.message);
        }
      }
      // transformers refuses shards whose __metadata__ lacks a known "format".
      if (kind == ShardIssueKind::kInvalidMetadata && shard->metadata()) {
        auto it = shard->metadata()->find("format");
        if (it == shard->metadata()->end()) {
          ctx.emit(shard->display_name(), "",
                   "__metadata__ has no \"format\" key; transformers refuses such shards (write "
                   "\"format\": \"pt\")");
        } else if (!is_known_format(it->second)) {
          ctx.emit(
              shard->display_name(), "",
              fmt::format(
                  "__metadata__ format is \"{}\"; transformers accepts only pt, tf, flax or mlx",
                  it->second));
        }
      }
    }
  }
};

}  // namespace

std::unique_ptr<Check> make_shard_issues_check() {
  return std::make_unique<ShardIssuesCheck>();
}

}  // namespace ckd
