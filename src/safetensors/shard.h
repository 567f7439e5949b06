// One safetensors file: its validated header and bounds-checked access to tensor bytes.
// Parsing never throws for bad content: every problem becomes a ShardIssue naming the file,
// the tensor, the value and the bound (FORMATS.md §1, MALFORMED.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_source.h"
#include "io/string_arena.h"
#include "safetensors/dtype.h"
#include "safetensors/shape.h"

namespace ckd {

inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's cap
inline constexpr size_t kMaxRank = 64;
inline constexpr int kMaxHeaderDepth = 16;

// What went wrong in a shard; each maps onto one container rule.
enum class ShardIssueKind {
  kInvalidHeader,
  kInvalidOffsets,
  kFileSizeMismatch,
  kDuplicateTensorName,
  kLfsPointer,
  kHeaderPadding,
  kUnalignedData,
  kInvalidMetadata,
};

struct ShardIssue {
  ShardIssueKind kind;
  std::string tensor;
  std::string message;
  size_t omitted = 0;  // > 0: a note standing for this many further issues of its kind

  // The reference reader refuses a file with this issue (the others are warnings about it).
  bool rejected() const {
    return kind == ShardIssueKind::kInvalidHeader || kind == ShardIssueKind::kInvalidOffsets ||
           kind == ShardIssueKind::kFileSizeMismatch ||
           kind == ShardIssueKind::kDuplicateTensorName;
  }
};

// The kebab-case name of an issue kind, the same as the container rule that reports it
// ("header-padding", "invalid-offsets", ...).
const char* shard_issue_name(ShardIssueKind kind);

// The small fields last, side by side: 80 bytes, with no allocation of its own for a shape of up
// to three dimensions (62k of them in a large checkpoint).
struct TensorInfo {
  std::string_view name;  // in the shard's arena: valid as long as the Shard
  Shape shape;
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t numel = 0;          // valid when shape_valid
  std::optional<Dtype> dtype;  // empty when the dtype string is unknown
  bool shape_valid = false;    // element count and byte size did not overflow
  bool readable = false;       // bytes lie inside the file and match shape x dtype
  bool duplicate = false;      // a second entry with an earlier entry's name

  uint64_t nbytes() const { return end >= begin ? end - begin : 0; }
};

class Shard {
 public:
  // Parses and validates `source`. `display_name` is what findings call the file. A header
  // longer than `max_header_bytes` but within the format's cap (a remote store's smaller
  // limit) throws IoError: the file may be fine, the tool declines to fetch it.
  static std::unique_ptr<Shard> parse(std::unique_ptr<ByteSource> source, std::string display_name,
                                      uint64_t max_header_bytes = kMaxHeaderBytes);

  const std::string& display_name() const { return display_name_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t header_length() const { return header_length_; }
  uint64_t data_start() const { return 8 + header_length_; }
  // True when the tensor table could be read (offset or size problems may remain).
  bool header_ok() const { return header_ok_; }
  // True when a reference reader would load this file.
  bool loadable() const { return loadable_; }
  // True when the tensor table is intact and the only defect a reader rejects is the padding
  // after the JSON (NUL bytes, say): a header rewrite repairs it without touching the data.
  bool only_padding_rejected() const { return only_padding_rejected_; }

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // Indices into tensors() ordered by name (then header order): for merges and lookups.
  const std::vector<uint32_t>& by_name() const { return by_name_; }
  const TensorInfo* find(std::string_view name) const;
  const std::optional<std::map<std::string, std::string>>& metadata() const { return metadata_; }
  const std::vector<ShardIssue>& issues() const { return issues_; }

  // The bytes of a readable tensor; throws IoError for one that is not readable.
  std::string_view tensor_bytes(const TensorInfo& tensor) const;
  ByteSource& source() const { return *source_; }

 private:
  Shard() = default;
  void add_issue(ShardIssueKind kind, std::string_view tensor, std::string message);
  void parse_header(std::string_view header);
  void validate_layout();
  void finish_issue_counts();

  std::unique_ptr<ByteSource> source_;
  std::string display_name_;
  uint64_t file_size_ = 0;
  uint64_t header_length_ = 0;
  bool header_ok_ = false;
  bool loadable_ = false;
  bool bad_padding_ = false;
  bool only_padding_rejected_ = false;
  StringArena names_;  // the tensors' names, side by side: no allocation per name
  std::vector<TensorInfo> tensors_;
  std::vector<uint32_t> by_name_;
  std::optional<std::map<std::string, std::string>> metadata_;
  std::vector<ShardIssue> issues_;
  std::map<ShardIssueKind, size_t> suppressed_;
};

// The __metadata__ "format" values transformers accepts (pt, tf, flax, mlx).
bool is_known_format(const std::string& format);

// A tensor to write: name, dtype, shape and its bytes (or a size, for sparse writers).
struct TensorSpec {
  std::string name;
  Dtype dtype;
  Shape shape;
  uint64_t nbytes;
};

// The reference writer's layout (FORMATS.md §1.3): tensors sorted by dtype (widest first) then
// name; offsets contiguous from 0; compact JSON with __metadata__ first; padded with spaces to 8.
// Returns the 8-byte length prefix plus the header, and fills `order` with the data order.
std::string serialize_header(const std::map<std::string, std::string>* metadata,
                             std::vector<TensorSpec>& tensors);

// The same header with the tensors laid out in the given order (fix keeps the source's order,
// so runs of tensors copy as one range).
std::string serialize_header_in_order(const std::map<std::string, std::string>* metadata,
                                      const std::vector<TensorSpec>& tensors);

// Byte size of `numel` elements of `dtype`, or nullopt on overflow or a partial byte.
std::optional<uint64_t> tensor_byte_size(Dtype dtype, std::span<const uint64_t> shape);

}  // namespace ckd
