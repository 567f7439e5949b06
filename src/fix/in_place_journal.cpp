#include "fix/in_place_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "io/byte_source.h"

namespace ckd {
namespace {

constexpr const char* kJournalHeader = "# ckptdoctor fix --in-place journal v2";
constexpr uint64_t kMaxJournalBytes = 64 << 20;

// Splits "a/b/c" into ("a/b", "c"); ("", "c") for a top-level name.
std::pair<std::string, std::string> split_parent(const std::string& relative) {
  size_t slash = relative.rfind('/');
  if (slash == std::string::npos) return {"", relative};
  return {relative.substr(0, slash), relative.substr(slash + 1)};
}

// Looks up `relative` beneath `dir_fd` without following a link in any component. Returns 0 and
// fills `st` (the entry itself, a link not followed), or an errno: ENOENT when a component is
// missing, ELOOP when a directory component is a link, ENOTDIR when it is not a directory.
int lookup_beneath(int dir_fd, const std::string& relative, struct stat& st) {
  auto [parent, base] = split_parent(relative);
  UniqueFd current(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) return errno;
  size_t start = 0;
  while (start < parent.size()) {
    size_t slash = parent.find('/', start);
    std::string part = parent.substr(start, slash == std::string::npos ? parent.npos : slash - start);
    start = slash == std::string::npos ? parent.size() : slash + 1;
    struct stat ps {};
    if (::fstatat(current.get(), part.c_str(), &ps, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    if (S_ISLNK(ps.st_mode)) return ELOOP;
    if (!S_ISDIR(ps.st_mode)) return ENOTDIR;
    int fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno;
    current = UniqueFd(fd);
  }
  if (::fstatat(current.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  return 0;
}

StagedFileId id_of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_ino),
          static_cast<int64_t>(st.st_ctim.tv_sec), static_cast<int64_t>(st.st_ctim.tv_nsec),
          static_cast<uint64_t>(st.st_size)};
}

template <typename T>
bool parse_number(std::string_view& line, T& out) {
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(line.data(), line.data() + space, out);
  if (ec != std::errc() || end != line.data() + space) return false;
  line.remove_prefix(space + 1);
  return true;
}

JournalInspection foreign(std::string reason) {
  JournalInspection out;
  out.state = JournalState::kForeign;
  out.reason = std::move(reason);
  return out;
}

// Reads COMMIT through the staging directory's descriptor (never through a link), bounded.
bool read_commit(int staging_fd, std::string& text, std::string& why) {
  UniqueFd fd(::openat(staging_fd, kCommitFileName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    why = "COMMIT is not a regular file";
    return false;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxJournalBytes) {
    why = fmt::format("COMMIT is {} bytes, over the {}-byte limit", st.st_size, kMaxJournalBytes);
    return false;
  }
  text.assign(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return true;
}

}  // namespace

std::string unjournalable_reason(std::string_view relative) {
  if (std::string reason = unsafe_name_reason(relative); !reason.empty()) return reason;
  if (relative.find('\n') != std::string_view::npos) return "newline in name";
  size_t start = 0;
  while (start <= relative.size()) {
    size_t slash = relative.find('/', start);
    std::string_view part =
        relative.substr(start, slash == std::string_view::npos ? relative.npos : slash - start);
    if (part.empty() || part == ".") return "empty or '.' component";
    if (part.starts_with(".ckptdoctor-")) return "a name ckptdoctor keeps for itself";
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

StagedFileId staged_file_id(int dir_fd, const std::string& dir_name, const std::string& relative) {
  struct stat st {};
  int e = lookup_beneath(dir_fd, relative, st);
  if (e != 0)
    throw IoError(fmt::format("{}/{}: cannot stat: {}", dir_name, relative, std::strerror(e)));
  if (!S_ISREG(st.st_mode))
    throw IoError(fmt::format("{}/{}: not a regular file", dir_name, relative));
  return id_of(st);
}

std::string journal_text(const std::vector<JournalEntry>& entries) {
  std::string out = std::string(kJournalHeader) + "\n";
  out += "# staged files to rename into place, the index last: inode ctime_sec ctime_nsec size "
         "name\n";
  for (const JournalEntry& e : entries) {
    out += fmt::format("{} {} {} {} {}\n", e.staged.inode, e.staged.ctime_sec, e.staged.ctime_nsec,
                       e.staged.size, e.relative);
  }
  return out;
}

JournalInspection inspect_journal(const std::string& dir_real) {
  UniqueFd dir = open_dir(dir_real);
  struct stat st {};
  if (::fstatat(dir.get(), kStagingDirName, &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (!S_ISDIR(st.st_mode))
    return foreign(fmt::format("{} is not a directory (a symbolic link?)", kStagingDirName));
  UniqueFd staging(
      ::openat(dir.get(), kStagingDirName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!staging.valid())
    return foreign(fmt::format("{} cannot be opened: {}", kStagingDirName, std::strerror(errno)));
  if (::fstatat(staging.get(), kCommitFileName, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    JournalInspection out;
    out.state = JournalState::kUncommitted;
    return out;
  }
  std::string text, why;
  if (!read_commit(staging.get(), text, why)) return foreign(why);

  JournalInspection out;
  out.state = JournalState::kOurs;
  std::set<std::string> seen;
  size_t pos = 0, line_number = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return foreign("COMMIT does not end with a newline (truncated)");
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_number;
    if (line_number == 1) {
      if (line != kJournalHeader) return foreign("COMMIT is not a journal this version writes");
      continue;
    }
    if (line.starts_with('#')) continue;
    JournalEntry e;
    if (!parse_number(line, e.staged.inode) ||
        !parse_number(line, e.staged.ctime_sec) || !parse_number(line, e.staged.ctime_nsec) ||
        !parse_number(line, e.staged.size))
      return foreign(fmt::format("COMMIT line {} is malformed", line_number));
    e.relative = std::string(line);
    if (std::string reason = unjournalable_reason(e.relative); !reason.empty())
      return foreign(fmt::format("COMMIT line {} names \"{}\": {}", line_number, e.relative, reason));
    if (!seen.insert(e.relative).second)
      return foreign(fmt::format("COMMIT names \"{}\" twice", e.relative));

    // The staged file: gone when it was already renamed into place, else exactly the file the
    // journal recorded.
    int err = lookup_beneath(staging.get(), e.relative, st);
    if (err == ENOENT) continue;
    if (err != 0 || !S_ISREG(st.st_mode))
      return foreign(fmt::format("the staged \"{}\" is not a regular file inside {}", e.relative,
                                 kStagingDirName));
    if (id_of(st) != e.staged)
      return foreign(fmt::format(
          "the staged \"{}\" is not the file the journal recorded: it was unpacked, copied or "
          "replaced after the journal was written",
          e.relative));
    // Its target: reached without a link, and not a directory (a link there is replaced).
    auto [parent, base] = split_parent(e.relative);
    if (!parent.empty()) {
      err = lookup_beneath(dir.get(), parent, st);
      if (err == 0 && !S_ISDIR(st.st_mode)) err = ENOTDIR;
      if (err != 0 && err != ENOENT)
        return foreign(fmt::format("\"{}\" passes through a symbolic link or a file in the "
                                   "checkpoint directory",
                                   e.relative));
    }
    err = lookup_beneath(dir.get(), e.relative, st);
    if (err == 0 && S_ISDIR(st.st_mode))
      return foreign(fmt::format("\"{}\" is a directory in the checkpoint", e.relative));
    if (err != 0 && err != ENOENT)
      return foreign(fmt::format("\"{}\" passes through a symbolic link or a file in the "
                                 "checkpoint directory",
                                 e.relative));
    out.pending.push_back(std::move(e));
  }
  if (line_number == 0) return foreign("COMMIT is empty");
  return out;
}

}  // namespace ckd
