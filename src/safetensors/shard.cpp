#include "safetensors/shard.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "io/checked.h"
#include "io/json_reader.h"
#include "safetensors/canonical_entry.h"

namespace ckd {

namespace {

constexpr size_t kMaxIssuesPerKind = 20;

std::string format_shape(std::span<const uint64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

uint64_t read_le64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[static_cast<size_t>(i)]);
  return v;
}

std::string printable_prefix(std::string_view bytes, size_t n) {
  std::string out;
  for (char c : bytes.substr(0, n)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  return out;
}

// Describes a Git LFS pointer ("version https://git-lfs...\noid sha256:...\nsize N\n").
std::optional<std::string> describe_lfs_pointer(std::string_view head) {
  constexpr std::string_view kPrefix = "version https://git-lfs.github.com/spec/";
  if (head.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string size;
  if (auto at = head.find("\nsize "); at != std::string_view::npos) {
    auto line = head.substr(at + 6);
    size = std::string(line.substr(0, line.find('\n')));
  }
  return size.empty() ? std::string("a Git LFS pointer file, not tensor data")
                      : fmt::format("a Git LFS pointer to a {}-byte object, not tensor data", size);
}

}  // namespace

std::optional<uint64_t> tensor_byte_size(Dtype dtype, std::span<const uint64_t> shape) {
  uint64_t numel = 1;
  for (uint64_t d : shape) {
    auto next = checked_mul(numel, d);
    if (!next) return std::nullopt;
    numel = *next;
  }
  auto bits = checked_mul(numel, dtype_bits(dtype));
  if (!bits || *bits % 8 != 0) return std::nullopt;
  return *bits / 8;
}

void Shard::add_issue(ShardIssueKind kind, std::string_view tensor, std::string message) {
  size_t seen = static_cast<size_t>(std::count_if(
      issues_.begin(), issues_.end(), [&](const ShardIssue& i) { return i.kind == kind; }));
  if (seen >= kMaxIssuesPerKind) {
    ++suppressed_[kind];
    return;
  }
  issues_.push_back({kind, std::string(tensor), std::move(message)});
}

void Shard::finish_issue_counts() {
  for (auto [kind, count] : suppressed_) {
    issues_.push_back(
        {kind, "", fmt::format("... and {} more problems of this kind in this file", count),
         count});
  }
}

std::unique_ptr<Shard> Shard::parse(std::unique_ptr<ByteSource> source, std::string display_name,
                                    uint64_t max_header_bytes) {
  std::unique_ptr<Shard> shard(new Shard());
  shard->source_ = std::move(source);
  shard->display_name_ = std::move(display_name);
  Shard& s = *shard;
  s.file_size_ = s.source_->size();
  std::string_view head = s.source_->read(0, std::min<uint64_t>(s.file_size_, 512));

  if (auto lfs = describe_lfs_pointer(head)) {
    s.add_issue(ShardIssueKind::kLfsPointer, "",
                fmt::format("file is {} ({} bytes); run `git lfs pull` or download it again", *lfs,
                            s.file_size_));
    return shard;
  }
  if (s.file_size_ < 8) {
    s.add_issue(ShardIssueKind::kInvalidHeader, "",
                fmt::format("file is {} bytes, shorter than the 8-byte header length prefix",
                            s.file_size_));
    return shard;
  }
  s.header_length_ = read_le64(head);
  if (s.header_length_ > kMaxHeaderBytes) {
    s.add_issue(ShardIssueKind::kInvalidHeader, "",
                fmt::format("header length {} exceeds the {}-byte cap (file starts with \"{}\"; "
                            "not a safetensors file?)",
                            s.header_length_, kMaxHeaderBytes, printable_prefix(head, 16)));
    return shard;
  }
  if (s.header_length_ > max_header_bytes) {
    throw IoError(fmt::format("{}: header of {} bytes is over the {}-byte limit for this source",
                              s.display_name_, s.header_length_, max_header_bytes));
  }
  if (8 + s.header_length_ > s.file_size_) {
    s.add_issue(ShardIssueKind::kInvalidHeader, "",
                fmt::format("header length {} runs past the end of the file ({} bytes); the file "
                            "is truncated or the length prefix is corrupt",
                            s.header_length_, s.file_size_));
    return shard;
  }
  s.parse_header(s.source_->read(8, s.header_length_));
  if (s.header_ok_) s.validate_layout();
  s.finish_issue_counts();
  size_t rejections = static_cast<size_t>(std::count_if(
      s.issues_.begin(), s.issues_.end(), [](const ShardIssue& i) { return i.rejected(); }));
  s.loadable_ = s.header_ok_ && rejections == 0;
  s.only_padding_rejected_ = s.header_ok_ && s.bad_padding_ && rejections == 1;
  return shard;
}

void Shard::parse_header(std::string_view header) {
  JsonReader reader(header, kMaxHeaderDepth);
  // Names the tensor being read, for JSON errors inside it: a view of its name in the arena
  // (or of a literal), so naming costs no copy per entry.
  std::string_view context;
  try {
    if (reader.peek() != JsonType::kObject) {
      reader.fail(fmt::format("header is a JSON {}, not an object", json_type_name(reader.peek())));
    }
    if (reader.leading_whitespace() > 0) {
      add_issue(
          ShardIssueKind::kHeaderPadding, "",
          fmt::format("header starts with {} whitespace bytes; the format requires '{{' first "
                      "(older readers reject this)",
                      reader.leading_whitespace()));
    }
    reader.begin_object();
    // A compact entry is 80-130 bytes; reserving for the shortest costs address space, not
    // memory (pages never written are never touched), and spares the copies of a regrowth.
    tensors_.reserve(header.size() / 64);
    std::string key, field, text;  // key: an escaped name, unescaped
    std::string_view entry_name;
    CanonicalEntry entry;
    bool metadata_seen = false;
    while (reader.next_key_view(entry_name, key)) {
      if (entry_name == "__metadata__") {
        context = "__metadata__";
        if (metadata_seen)
          add_issue(ShardIssueKind::kInvalidHeader, "", "__metadata__ appears twice");
        metadata_seen = true;
        if (reader.peek() == JsonType::kNull) {
          reader.read_null();
          add_issue(ShardIssueKind::kInvalidMetadata, "",
                    "__metadata__ is null; some loaders (fastsafetensors) fail on it: omit it or "
                    "write {\"format\": \"pt\"}");
          continue;
        }
        if (reader.peek() != JsonType::kObject) {
          add_issue(ShardIssueKind::kInvalidHeader, "",
                    fmt::format("__metadata__ is a {}; it must be an object of strings",
                                json_type_name(reader.peek())));
          reader.skip_value();
          continue;
        }
        std::map<std::string, std::string> meta;
        reader.begin_object();
        while (reader.next_key(field)) {
          if (reader.peek() != JsonType::kString) {
            add_issue(ShardIssueKind::kInvalidHeader, "",
                      fmt::format("__metadata__[\"{}\"] is a {}; values must be strings", field,
                                  json_type_name(reader.peek())));
            reader.skip_value();
            continue;
          }
          reader.read_string(text);
          meta[field] = text;
        }
        metadata_ = std::move(meta);
        continue;
      }

      TensorInfo t;
      t.name = names_.add(entry_name);  // the one copy of a name: the header's bytes are released
      context = t.name;
      // Nearly every entry is the writer's compact form: read it without the generic machinery
      // (it yields no issue, so nothing else below applies to it).
      if (canonical_fast_path_enabled()) {
        if (size_t n = parse_canonical_entry(header, reader.offset(), entry)) {
          reader.skip_validated(n);
          t.dtype = entry.dtype;
          t.shape = std::move(entry.shape);
          t.begin = entry.begin;
          t.end = entry.end;
          t.numel = entry.numel;
          t.shape_valid = true;
          tensors_.push_back(std::move(t));
          continue;
        }
      }
      key.assign(t.name);  // the generic path's issues name it
      if (reader.peek() != JsonType::kObject) {
        add_issue(ShardIssueKind::kInvalidHeader, key,
                  fmt::format("entry is a {}, not an object with dtype, shape and data_offsets",
                              json_type_name(reader.peek())));
        reader.skip_value();
        continue;
      }
      bool has_dtype = false, has_shape = false, has_offsets = false, shape_ok = true;
      reader.begin_object();
      while (reader.next_key(field)) {
        if (field == "dtype") {
          if (has_dtype) add_issue(ShardIssueKind::kInvalidHeader, key, "'dtype' appears twice");
          has_dtype = true;
          reader.read_string(text);
          t.dtype = parse_dtype(text);
          if (!t.dtype) {
            add_issue(ShardIssueKind::kInvalidHeader, key,
                      fmt::format("unknown dtype \"{}\" (not one of the {} safetensors dtypes)",
                                  text, kDtypeCount));
          }
        } else if (field == "shape") {
          if (has_shape) add_issue(ShardIssueKind::kInvalidHeader, key, "'shape' appears twice");
          has_shape = true;
          t.shape.clear();
          reader.begin_array();
          while (reader.next_element()) {
            if (t.shape.size() == kMaxRank) {
              add_issue(ShardIssueKind::kInvalidHeader, key,
                        fmt::format("shape has more than {} dimensions", kMaxRank));
              shape_ok = false;
              reader.skip_value();
              while (reader.next_element()) reader.skip_value();
              break;
            }
            t.shape.push_back(reader.read_u64());
          }
        } else if (field == "data_offsets") {
          if (has_offsets)
            add_issue(ShardIssueKind::kInvalidHeader, key, "'data_offsets' appears twice");
          has_offsets = true;
          std::vector<uint64_t> offsets;
          reader.begin_array();
          while (reader.next_element()) {
            if (offsets.size() == 2) {
              reader.skip_value();
              offsets.push_back(0);
              continue;
            }
            offsets.push_back(reader.read_u64());
          }
          if (offsets.size() != 2) {
            add_issue(ShardIssueKind::kInvalidHeader, key,
                      fmt::format("data_offsets has {} entries; it must be [begin, end]",
                                  offsets.size()));
            has_offsets = false;
          } else {
            t.begin = offsets[0];
            t.end = offsets[1];
          }
        } else {
          reader.skip_value();  // unknown fields are ignored by the reference reader
        }
      }
      for (auto [present, name] : {std::pair{has_dtype, "dtype"}, std::pair{has_shape, "shape"},
                                   std::pair{has_offsets, "data_offsets"}}) {
        if (!present) {
          add_issue(ShardIssueKind::kInvalidHeader, key, fmt::format("entry has no '{}'", name));
        }
      }
      if (has_shape && shape_ok) {
        uint64_t numel = 1;
        bool overflow = false;
        for (uint64_t d : t.shape) {
          auto next = checked_mul(numel, d);
          if (!next) {
            overflow = true;
            break;
          }
          numel = *next;
        }
        if (overflow) {
          add_issue(
              ShardIssueKind::kInvalidHeader, key,
              fmt::format("shape {} overflows a 64-bit element count", format_shape(t.shape)));
        } else if (t.dtype) {
          auto bits = checked_mul(numel, dtype_bits(*t.dtype));
          if (!bits) {
            add_issue(ShardIssueKind::kInvalidHeader, key,
                      fmt::format("shape {} of {} overflows a 64-bit bit count",
                                  format_shape(t.shape), dtype_name(*t.dtype)));
          } else if (*bits % 8 != 0) {
            add_issue(ShardIssueKind::kInvalidHeader, key,
                      fmt::format("shape {} of {} is {} bits, not a whole number of bytes",
                                  format_shape(t.shape), dtype_name(*t.dtype), *bits));
          } else {
            t.numel = numel;
            t.shape_valid = true;
          }
        } else {
          t.numel = numel;
        }
      }
      if (!has_offsets) continue;  // no byte range: nothing more can be checked
      tensors_.push_back(std::move(t));
    }
    context = {};
    // Trailing bytes must be JSON whitespace; the writer pads with spaces (0x20) only.
    size_t end = reader.offset();
    std::string_view tail = header.substr(end);
    size_t bad = tail.find_first_not_of(" \t\r\n");
    if (bad != std::string_view::npos) {
      bad_padding_ = true;
      add_issue(ShardIssueKind::kInvalidHeader, "",
                fmt::format("header has byte 0x{:02x} at offset {} after the JSON object; padding "
                            "must be spaces (strict readers fail with 'trailing characters')",
                            static_cast<unsigned char>(tail[bad]), 8 + end + bad));
    } else if (tail.find_first_not_of(' ') != std::string_view::npos) {
      add_issue(ShardIssueKind::kHeaderPadding, "",
                "header is padded with tabs or newlines; the writer pads with spaces (0x20) only");
    }
    header_ok_ = true;
  } catch (const JsonError& e) {
    std::string where = context.empty() ? "" : fmt::format(" (in entry \"{}\")", context);
    add_issue(ShardIssueKind::kInvalidHeader, context == "__metadata__" ? "" : context,
              fmt::format("header is not valid JSON at file byte {}{}: {}", 8 + e.offset(), where,
                          e.what()));
    tensors_.clear();
    header_ok_ = false;
    return;
  }

  // Sorting by name serves lookups (binary search) and finds duplicates as neighbours. The
  // reference writer orders entries by dtype, then name: a few ascending runs, merged in
  // O(n log runs) comparisons instead of a full sort (the order is total, so the result is the
  // same either way).
  by_name_.resize(tensors_.size());
  std::iota(by_name_.begin(), by_name_.end(), uint32_t{0});
  auto name_less = [&](uint32_t a, uint32_t b) {
    int c = tensors_[a].name.compare(tensors_[b].name);
    return c != 0 ? c < 0 : a < b;
  };
  std::vector<size_t> run_starts{0};
  constexpr size_t kMaxRuns = 32;
  for (size_t k = 1; k < by_name_.size() && run_starts.size() <= kMaxRuns; ++k) {
    if (name_less(by_name_[k], by_name_[k - 1])) run_starts.push_back(k);
  }
  if (run_starts.size() > kMaxRuns) {
    std::sort(by_name_.begin(), by_name_.end(), name_less);
  } else {
    // Merge neighbouring runs pairwise until one is left.
    run_starts.push_back(by_name_.size());
    while (run_starts.size() > 2) {
      std::vector<size_t> merged;
      for (size_t r = 0; r + 2 < run_starts.size(); r += 2) {
        std::inplace_merge(by_name_.begin() + static_cast<long>(run_starts[r]),
                           by_name_.begin() + static_cast<long>(run_starts[r + 1]),
                           by_name_.begin() + static_cast<long>(run_starts[r + 2]), name_less);
        merged.push_back(run_starts[r]);
      }
      if (run_starts.size() % 2 == 0) merged.push_back(run_starts[run_starts.size() - 2]);
      merged.push_back(by_name_.size());
      run_starts = std::move(merged);
    }
  }
  for (size_t k = 1; k < by_name_.size(); ++k) {
    TensorInfo& t = tensors_[by_name_[k]];
    if (t.name != tensors_[by_name_[k - 1]].name) continue;
    t.duplicate = true;
    const TensorInfo& first = tensors_[by_name_[k - 1]];
    add_issue(ShardIssueKind::kDuplicateTensorName, t.name,
              fmt::format("name appears twice in the header (data_offsets [{}, {}] and [{}, {}]); "
                          "readers silently keep one of them",
                          first.begin, first.end, t.begin, t.end));
  }
}

void Shard::validate_layout() {
  const uint64_t data_len = file_size_ - 8 - header_length_;
  std::vector<size_t> order(tensors_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Writers lay the data out in header order: sort only when it is not (a stable sort of
  // (begin, end) keeps equal ranges in header order, as the unsorted input already is).
  auto by_range = [&](size_t a, size_t b) {
    return std::pair(tensors_[a].begin, tensors_[a].end) <
           std::pair(tensors_[b].begin, tensors_[b].end);
  };
  if (!std::is_sorted(order.begin(), order.end(), by_range))
    std::sort(order.begin(), order.end(), by_range);

  uint64_t covered = 0;  // every byte below this belongs to some tensor
  const TensorInfo* previous = nullptr;
  for (size_t index : order) {
    TensorInfo& t = tensors_[index];
    if (t.end < t.begin) {
      add_issue(ShardIssueKind::kInvalidOffsets, t.name,
                fmt::format("data_offsets [{}, {}] run backwards", t.begin, t.end));
      continue;
    }
    bool layout_ok = true;
    if (t.begin > covered) {
      add_issue(
          ShardIssueKind::kInvalidOffsets, t.name,
          fmt::format("hole of {} bytes before this tensor (bytes [{}, {}) of the data belong "
                      "to no tensor)",
                      t.begin - covered, covered, t.begin));
    } else if (t.begin < covered && previous) {
      add_issue(ShardIssueKind::kInvalidOffsets, t.name,
                fmt::format("data_offsets [{}, {}] overlap \"{}\" [{}, {}]", t.begin, t.end,
                            previous->name, previous->begin, previous->end));
      layout_ok = false;
    }
    // A valid shape's element count times the dtype's bits neither overflowed nor left a
    // partial byte (parse_header): the byte size follows from numel, without the dims.
    std::optional<uint64_t> need;
    if (t.shape_valid && t.dtype) need = t.numel * dtype_bits(*t.dtype) / 8;
    if (need && t.nbytes() != *need) {
      add_issue(ShardIssueKind::kInvalidOffsets, t.name,
                fmt::format("data_offsets span {} bytes but shape {} of {} needs {}", t.nbytes(),
                            format_shape(t.shape), dtype_name(*t.dtype), *need));
      layout_ok = false;
    }
    t.readable = layout_ok && need && t.end <= data_len && t.nbytes() == *need;
    if (t.end > covered) {
      covered = t.end;
      previous = &t;
    }
  }

  if (covered > data_len) {
    add_issue(ShardIssueKind::kFileSizeMismatch, "",
              fmt::format("truncated: the header describes {} data bytes but the file holds {} "
                          "(file is {} bytes, should be {}; {} missing); download it again",
                          covered, data_len, file_size_, 8 + header_length_ + covered,
                          covered - data_len));
  } else if (covered < data_len) {
    add_issue(ShardIssueKind::kFileSizeMismatch, "",
              fmt::format("{} trailing bytes after the last tensor (file is {} bytes, the header "
                          "accounts for {}); rejected by the reference reader",
                          data_len - covered, file_size_, 8 + header_length_ + covered));
  }

  size_t misaligned = 0;
  for (const TensorInfo& t : tensors_) {
    if (!t.dtype) continue;
    uint64_t align = std::max<uint64_t>(1, dtype_bits(*t.dtype) / 8);
    if ((data_start() + t.begin) % align != 0) ++misaligned;
  }
  if (data_start() % 8 != 0 || misaligned > 0) {
    add_issue(ShardIssueKind::kUnalignedData, "",
              fmt::format("data starts at byte {} (not a multiple of 8); {} of {} tensors are not "
                          "aligned to their element size, so zero-copy mmap loads must copy them",
                          data_start(), misaligned, tensors_.size()));
  }
}

const TensorInfo* Shard::find(std::string_view name) const {
  auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                             [&](uint32_t i, std::string_view n) { return tensors_[i].name < n; });
  if (it == by_name_.end() || tensors_[*it].name != name) return nullptr;
  return &tensors_[*it];
}

std::string_view Shard::tensor_bytes(const TensorInfo& tensor) const {
  if (!tensor.readable) {
    throw IoError(fmt::format("{}: tensor \"{}\" is not readable (its byte range is invalid)",
                              display_name_, tensor.name));
  }
  return source_->read(data_start() + tensor.begin, tensor.nbytes());
}

std::string serialize_header(const std::map<std::string, std::string>* metadata,
                             std::vector<TensorSpec>& tensors) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorSpec& a, const TensorSpec& b) {
    if (a.dtype != b.dtype) return static_cast<int>(a.dtype) > static_cast<int>(b.dtype);
    return a.name < b.name;
  });
  return serialize_header_in_order(metadata, tensors);
}

std::string serialize_header_in_order(const std::map<std::string, std::string>* metadata,
                                      const std::vector<TensorSpec>& tensors) {
  std::string json = "{";
  bool first = true;
  if (metadata) {
    json += "\"__metadata__\":{";
    bool first_meta = true;
    for (const auto& [k, v] : *metadata) {
      if (!first_meta) json += ',';
      first_meta = false;
      append_json_string(json, k);
      json += ':';
      append_json_string(json, v);
    }
    json += '}';
    first = false;
  }
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    if (!first) json += ',';
    first = false;
    append_json_string(json, t.name);
    json += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                        dtype_name(t.dtype), fmt::join(t.shape, ","), offset, offset + t.nbytes);
    offset += t.nbytes;
  }
  json += '}';
  while (json.size() % 8 != 0) json += ' ';
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json;
}

bool is_known_format(const std::string& format) {
  return format == "pt" || format == "tf" || format == "flax" || format == "mlx";
}

const char* shard_issue_name(ShardIssueKind kind) {
  switch (kind) {
    case ShardIssueKind::kInvalidHeader:
      return "invalid-header";
    case ShardIssueKind::kInvalidOffsets:
      return "invalid-offsets";
    case ShardIssueKind::kFileSizeMismatch:
      return "file-size-mismatch";
    case ShardIssueKind::kDuplicateTensorName:
      return "duplicate-tensor-name";
    case ShardIssueKind::kLfsPointer:
      return "lfs-pointer";
    case ShardIssueKind::kHeaderPadding:
      return "header-padding";
    case ShardIssueKind::kUnalignedData:
      return "unaligned-data";
    case ShardIssueKind::kInvalidMetadata:
      return "invalid-metadata";
  }
  return "unknown";
}

}  // namespace ckd
