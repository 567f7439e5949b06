// Resolving untrusted relative paths (index shard names) without ever leaving a root directory.
#pragma once

#include <string>
#include <string_view>

namespace ckd {

enum class PathStatus { kOk, kMissing, kUnsafe, kNotRegular };

struct ResolvedPath {
  PathStatus status;
  std::string path;    // absolute path when kOk / kMissing / kNotRegular
  std::string reason;  // why it is unsafe
};

// Why an untrusted relative name may not be opened: empty, absolute, a NUL, a backslash or a
// ".." component. Empty when the name is acceptable (symlinks are resolve_inside's business).
std::string unsafe_name_reason(std::string_view relative);

// `root_real` must be a realpath()'d directory. A name is unsafe when it is empty, absolute,
// contains a NUL, a backslash or a ".." component, or resolves (through symlinks) outside root
// and outside `also_allowed` (a realpath()'d directory, or empty).
ResolvedPath resolve_inside(const std::string& root_real, std::string_view relative,
                            const std::string& also_allowed = "");

// For a Hugging Face hub cache snapshot (".../models--org--name/snapshots/REV"), whose files are
// symlinks into ".../models--org--name/blobs", the blobs directory; otherwise empty.
std::string hub_cache_blobs_dir(const std::string& dir_real);

// realpath() as a string, or empty when the path does not exist.
std::string real_path(const std::string& path);

// Reads a whole small file, refusing files over `max_bytes`; throws IoError.
std::string read_small_file(const std::string& path, uint64_t max_bytes);

}  // namespace ckd
