#include "fix/writer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "io/atomic_file.h"
#include "io/checked.h"
#include "io/parallel.h"
#include "io/progress.h"
#include "io/paths.h"
#include "io/pread_file.h"
#include "io/trace.h"

namespace ckd {
namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = 4 << 20;  // per buffer; a worker holds at most two

[[noreturn]] void fail(const std::string& path, const std::string& what, int e) {
  throw IoError(fmt::format("{}: {}: {}", path, what, errno_text(e)));
}

std::vector<char>& buffer(int which) {
  thread_local std::vector<char> buffers[2];
  if (buffers[which].empty()) buffers[which].resize(kChunk);
  return buffers[which];
}

void read_exact(int fd, uint64_t offset, char* out, size_t length, const std::string& path) {
  while (length > 0) {
    ssize_t n = ::pread(fd, out, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "read failed", errno);
    if (n == 0) throw IoError(fmt::format("{}: ended early (file changed while fixing?)", path));
    out += n;
    offset += static_cast<uint64_t>(n);
    length -= static_cast<size_t>(n);
  }
}

// A file being written: explicit offsets, kernel-side copies where the filesystem allows.
class OutputFile {
 public:
  explicit OutputFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(path_, "cannot create", errno);
  }
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const char* data, size_t length) {
    while (length > 0) {
      ssize_t n = ::pwrite(fd_, data, length, static_cast<off_t>(pos_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(path_, "write failed", errno);
      data += n;
      pos_ += static_cast<uint64_t>(n);
      length -= static_cast<size_t>(n);
    }
  }

  // Copies [offset, offset + length) of the source file `src_fd` (or of `src` when there is no
  // descriptor) to the end of this file.
  void copy_from(int src_fd, ByteSource* src, uint64_t offset, uint64_t length,
                 const std::string& src_name) {
    while (length > 0 && src_fd >= 0 && kernel_copy_) {
      loff_t in = static_cast<loff_t>(offset), out = static_cast<loff_t>(pos_);
      size_t step = static_cast<size_t>(std::min<uint64_t>(length, 1u << 30));
      ssize_t n = ::copy_file_range(src_fd, &in, fd_, &out, step, 0);
      if (n > 0) {
        offset += static_cast<uint64_t>(n);
        pos_ += static_cast<uint64_t>(n);
        length -= static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0)
        throw IoError(fmt::format("{}: ended early (file changed while fixing?)", src_name));
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
          errno == EBADF || errno == ETXTBSY) {
        kernel_copy_ = false;  // not across these filesystems: copy through a buffer
        break;
      }
      fail(path_, "write failed", errno);
    }
    std::vector<char>& buf = buffer(0);
    while (length > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
      if (src_fd >= 0) {
        read_exact(src_fd, offset, buf.data(), n, src_name);
      } else {
        src->copy_to(offset, n, buf.data());
      }
      write(buf.data(), n);
      offset += n;
      length -= n;
    }
  }

  // Starts writeback and closes; durability comes from sync_files() once every file is staged,
  // so the disk writes one file while the next is copied and verified.
  void finish() {
    ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) fail(path_, "close failed", errno);
  }

  uint64_t size() const { return pos_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t pos_ = 0;
  bool kernel_copy_ = true;
};

// Compares [a_off, +length) of fd `a` with [b_off, +length) of fd `b`; returns the first
// differing offset relative to the range, or length when equal.
uint64_t first_difference(int a, const std::string& a_name, uint64_t a_off, int b,
                          const std::string& b_name, uint64_t b_off, uint64_t length) {
  std::vector<char>& x = buffer(0);
  std::vector<char>& y = buffer(1);
  uint64_t done = 0;
  while (done < length) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(length - done, x.size()));
    read_exact(a, a_off + done, x.data(), n, a_name);
    read_exact(b, b_off + done, y.data(), n, b_name);
    if (std::memcmp(x.data(), y.data(), n) != 0) {
      size_t i = 0;
      while (x[i] == y[i]) ++i;
      return done + i;
    }
    done += n;
  }
  return length;
}

struct ReadFd {
  explicit ReadFd(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd < 0) fail(path, "cannot open", errno);
  }
  ~ReadFd() { ::close(fd); }
  ReadFd(const ReadFd&) = delete;
  ReadFd& operator=(const ReadFd&) = delete;
  int fd;
};

std::vector<TensorSpec> specs_of(const OutputShard& s) {
  std::vector<TensorSpec> specs;
  for (const OutputTensor& t : s.tensors) {
    if (!t.dropped) specs.push_back({t.name, t.dtype, t.shape, t.nbytes()});
  }
  return specs;
}

// Writes one rewritten shard, then re-opens it and checks it against the plan byte for byte.
uint64_t stage_shard(const OutputShard& s, const std::string& path) {
  const std::map<std::string, std::string>* meta = s.metadata.empty() ? nullptr : &s.metadata;
  std::string header = serialize_header_in_order(meta, specs_of(s));
  const size_t header_size = header.size();
  ByteSource& src = s.source->source();
  const int src_fd = src.file_descriptor();
  const std::string& src_name = s.source->display_name();
  {
    PhaseTimer timer("shard copy");
    OutputFile out(path);
    out.write(header.data(), header.size());
    // Runs of tensors adjacent in the source are copied as one range.
    const std::vector<OutputTensor>& ts = s.tensors;
    for (size_t i = 0; i < ts.size();) {
      if (ts[i].dropped) {
        ++i;
        continue;
      }
      if (!ts[i].source) {
        out.write(ts[i].bytes.data(), ts[i].bytes.size());
        ++i;
        continue;
      }
      uint64_t begin = ts[i].source->begin, end = ts[i].source->end;
      size_t j = i + 1;
      while (j < ts.size() && !ts[j].dropped && ts[j].source && ts[j].source->begin == end) {
        end = ts[j].source->end;
        ++j;
      }
      out.copy_from(src_fd, &src, s.source->data_start() + begin, end - begin, src_name);
      i = j;
    }
    out.finish();
  }
  // The header text is as large as the parsed table the verification builds next: free it
  // first, so memory holds one of them at a time (a 900k-tensor header is 92 MB).
  std::string().swap(header);

  // Verify: the file parses cleanly, lists exactly the planned tensors, and every byte of every
  // tensor equals its source.
  PhaseTimer timer("shard verify");
  // Read with pread, not a whole-file mapping (whose pages count in RSS as they are touched);
  // the header's window is dropped once it is parsed.
  auto written = Shard::parse(PreadFile::open(path), path);
  written->source().release_views();
  if (!written->loadable() || !written->issues().empty()) {
    std::string why = written->issues().empty() ? "does not load" : written->issues()[0].message;
    throw IoError(fmt::format("{}: verification failed: {}", path, why));
  }
  const auto planned = static_cast<size_t>(std::count_if(
      s.tensors.begin(), s.tensors.end(), [](const OutputTensor& t) { return !t.dropped; }));
  if (written->tensors().size() != planned || written->header_length() + 8 != header_size)
    throw IoError(fmt::format("{}: verification failed: the header differs from the plan", path));
  const int out_fd = written->source().file_descriptor();
  size_t k = 0;
  for (const OutputTensor& t : s.tensors) {
    if (t.dropped) continue;
    const TensorInfo& w = written->tensors()[k++];
    if (w.name != t.name || w.dtype != t.dtype || w.shape != t.shape || w.nbytes() != t.nbytes())
      throw IoError(fmt::format("{}: verification failed at tensor \"{}\"", path, t.name));
    if (!t.source) {
      std::string_view got = written->tensor_bytes(w);
      if (got != t.bytes)
        throw IoError(fmt::format("{}: verification failed: \"{}\" bytes differ", path, t.name));
      continue;
    }
    uint64_t at;
    if (src_fd >= 0) {
      at = first_difference(src_fd, src_name, s.source->data_start() + t.source->begin, out_fd,
                            path, written->data_start() + w.begin, t.nbytes());
    } else {
      std::string_view a = s.source->tensor_bytes(*t.source), b = written->tensor_bytes(w);
      at = a == b ? t.nbytes() : 0;
    }
    if (at != t.nbytes()) {
      throw IoError(
          fmt::format("{}: verification failed: tensor \"{}\" differs from its source at byte {}",
                      path, t.name, at));
    }
  }
  return header_size + written->file_size() - written->data_start();
}

// Copies a whole file and verifies the copy byte for byte.
uint64_t stage_copy(const std::string& from, const std::string& path) {
  ReadFd src(from);
  struct stat st {};
  if (::fstat(src.fd, &st) != 0) fail(from, "cannot stat", errno);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  {
    OutputFile out(path);
    out.copy_from(src.fd, nullptr, 0, size, from);
    out.finish();
  }
  ReadFd copy(path);
  struct stat cst {};
  if (::fstat(copy.fd, &cst) != 0) fail(path, "cannot stat", errno);
  if (static_cast<uint64_t>(cst.st_size) != size ||
      first_difference(src.fd, from, 0, copy.fd, path, 0, size) != size) {
    throw IoError(fmt::format("{}: verification failed: the copy differs from {}", path, from));
  }
  return size;
}

uint64_t stage_text(const std::string& text, const std::string& path) {
  {
    OutputFile out(path);
    out.write(text.data(), text.size());
    out.finish();
  }
  if (read_small_file(path, text.size() + 1) != text)
    throw IoError(fmt::format("{}: verification failed: content differs", path));
  return text.size();
}

// One file to stage: a rewritten shard, a copy of a file of DIR, or new text.
struct StageJob {
  std::string relative;
  const OutputShard* shard = nullptr;
  std::string copy_from;  // absolute path
  const std::string* text = nullptr;
};

std::string source_path(const Checkpoint& ck, const std::string& relative) {
  ResolvedPath r = resolve_inside(ck.real_dir(), relative, ck.hub_blobs_dir());
  if (r.status != PathStatus::kOk)
    throw IoError(fmt::format("{}/{}: cannot be copied ({})", ck.dir(), relative,
                              r.reason.empty() ? "not a regular file" : r.reason));
  return r.path;
}

// The jobs of a plan; in place, only what changed. The index comes last: it is published last.
std::vector<StageJob> stage_jobs(const Checkpoint& ck, const FixPlan& plan, bool in_place) {
  std::vector<StageJob> jobs;
  for (const OutputShard& s : plan.shards) {
    if (s.rewrite) {
      jobs.push_back({s.file, &s, "", nullptr});
    } else if (!in_place) {
      jobs.push_back({s.file, nullptr, source_path(ck, s.file), nullptr});
    }
  }
  for (const auto& [name, text] : plan.edited_files) jobs.push_back({name, nullptr, "", &text});
  if (!in_place) {
    for (const std::string& rel : plan.copied_files)
      jobs.push_back({rel, nullptr, source_path(ck, rel), nullptr});
  }
  // An unchanged index is among the copied files; a new one is published last.
  if (plan.index_text) jobs.push_back({kIndexFileName, nullptr, "", &*plan.index_text});
  return jobs;
}

WriteStats stage_all(const std::vector<StageJob>& jobs, const std::string& staging,
                     const WriteOptions& options) {
  std::set<std::string> dirs{staging};
  for (const StageJob& j : jobs) {
    fs::path parent = fs::path(staging) / fs::path(j.relative).parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec)
      throw IoError(fmt::format("{}: cannot create directory: {}", parent.string(), ec.message()));
    dirs.insert(parent.lexically_normal().string());
  }
  WriteStats stats;
  std::mutex mu;
  std::exception_ptr error;
  int threads = options.threads > 0 ? options.threads : std::min(4, worker_count(0));
  ProgressLine progress(options.progress, "fix staged", jobs.size(), ProgressLine::Unit::kItems,
                        "files");
  parallel_for(jobs.size(), threads, [&](size_t i) {
    {
      std::lock_guard lock(mu);
      if (error) return;
    }
    try {
      const StageJob& j = jobs[i];
      std::string path = staging + "/" + j.relative;
      uint64_t bytes = j.shard  ? stage_shard(*j.shard, path)
                       : j.text ? stage_text(*j.text, path)
                                : stage_copy(j.copy_from, path);
      std::lock_guard lock(mu);
      stats.bytes += bytes;
      (j.shard ? stats.files_rewritten : stats.files_copied) += 1;
      progress.add(1);
      crash_point("staged");
    } catch (...) {
      std::lock_guard lock(mu);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
  {
    PhaseTimer timer("fsync staged files");
    for (const StageJob& j : jobs) fsync_file(staging + "/" + j.relative);
  }
  for (const std::string& d : dirs) fsync_dir(d);
  return stats;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

bool is_inside(const std::string& child, const std::string& parent) {
  return child == parent || (child.size() > parent.size() && child.starts_with(parent) &&
                             (parent == "/" || child[parent.size()] == '/'));
}

// Renames staged files over their final names (the index last) and fsyncs the directories.
void publish(const std::vector<StageJob>& jobs, const std::string& staging,
             const std::string& target) {
  std::set<std::string> dirs{target};
  for (const StageJob& j : jobs) {
    std::string to = target + "/" + j.relative;
    fs::path parent = fs::path(to).parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec)
      throw IoError(fmt::format("{}: cannot create directory: {}", parent.string(), ec.message()));
    dirs.insert(parent.string());
    if (::rename((staging + "/" + j.relative).c_str(), to.c_str()) != 0)
      fail(to, "cannot rename into place", errno);
    crash_point("published");
  }
  for (const std::string& d : dirs) fsync_dir(d);
}

}  // namespace

void crash_point(const char* point) {
  static const char* spec = std::getenv("CKPTDOCTOR_CRASH_AT");
  if (!spec || !*spec) return;
  static std::atomic<int> counts[3];
  static const char* names[3] = {"staged", "published", "committed"};
  std::string_view s(spec);
  size_t colon = s.find(':');
  if (s.substr(0, colon) != point) return;
  int wanted = colon == std::string_view::npos ? 1 : std::atoi(spec + colon + 1);
  for (int i = 0; i < 3; ++i) {
    if (std::string_view(names[i]) == point && ++counts[i] == wanted) ::raise(SIGKILL);
  }
}

std::string partial_dir_for(const std::string& out_dir) {
  fs::path p = fs::path(out_dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return (p.parent_path() / ("." + p.filename().string() + ".ckptdoctor-partial")).string();
}

WriteStats write_out_of_place(const Checkpoint& ck, const FixPlan& plan, const std::string& out_dir,
                              const WriteOptions& options) {
  // OUT must not be DIR, inside DIR or around it, and must be empty unless --force.
  fs::path out_path = fs::path(out_dir).lexically_normal();
  if (!out_path.has_filename()) out_path = out_path.parent_path();
  std::string parent = out_path.has_parent_path() ? out_path.parent_path().string() : ".";
  std::string parent_real = real_path(parent);
  if (parent_real.empty())
    throw IoError(fmt::format("{}: the output's parent directory does not exist", parent));
  std::string out_real = (fs::path(parent_real) / out_path.filename()).string();
  if (std::string r = real_path(out_real); !r.empty()) out_real = r;
  if (out_real == ck.real_dir())
    throw IoError(
        fmt::format("{}: the output is the checkpoint itself; use --in-place to "
                    "replace its files",
                    out_dir));
  if (is_inside(out_real, ck.real_dir()))
    throw IoError(
        fmt::format("{}: the output is inside the checkpoint directory {}", out_dir, ck.dir()));
  if (is_inside(ck.real_dir(), out_real))
    throw IoError(
        fmt::format("{}: the output contains the checkpoint directory {}", out_dir, ck.dir()));
  bool out_exists = fs::exists(out_real);
  bool out_empty = true;
  if (out_exists) {
    if (!fs::is_directory(out_real))
      throw IoError(fmt::format("{}: exists and is not a directory", out_dir));
    out_empty = fs::is_empty(out_real);
    if (!out_empty && !options.force)
      throw IoError(
          fmt::format("{}: exists and is not empty (use --force to write into it)", out_dir));
  }

  std::string staging = partial_dir_for(out_real);
  remove_tree(staging);  // what a killed run left
  if (::mkdir(staging.c_str(), 0755) != 0) fail(staging, "cannot create the output", errno);
  std::vector<StageJob> jobs = stage_jobs(ck, plan, false);
  WriteStats stats;
  try {
    stats = stage_all(jobs, staging, options);
    if (!out_exists || out_empty) {
      // One rename publishes the whole checkpoint (an empty OUT is replaced atomically).
      if (::rename(staging.c_str(), out_real.c_str()) != 0)
        fail(out_dir, "cannot rename the staged output into place", errno);
      crash_point("published");
      fsync_dir(parent_real);
    } else {
      publish(jobs, staging, out_real);
      remove_tree(staging);
    }
  } catch (...) {
    remove_tree(staging);
    throw;
  }
  return stats;
}

namespace {

// Renames each pending staged file over its name in DIR (the journal's order: the index last),
// resolving both sides beneath their directory descriptors without following a link; a link in
// DIR under the final name (a hub snapshot's link into blobs/) is itself replaced. Fsyncs every
// directory it renamed into.
void publish_beneath(const std::vector<JournalEntry>& entries, int staging_fd,
                     const std::string& staging, int dir_fd, const std::string& dir) {
  std::map<std::string, UniqueFd> parents;
  for (const JournalEntry& e : entries) {
    fs::path rel(e.relative);
    std::string parent = rel.parent_path().string(), base = rel.filename().string();
    UniqueFd from = open_dir_beneath(staging_fd, staging, parent, false);
    auto it = parents.find(parent);
    if (it == parents.end())
      it = parents.emplace(parent, open_dir_beneath(dir_fd, dir, parent, true)).first;
    if (::renameat(from.get(), base.c_str(), it->second.get(), base.c_str()) != 0)
      fail(dir + "/" + e.relative, "cannot rename into place", errno);
    crash_point("published");
  }
  for (const auto& [name, fd] : parents) {
    if (::fsync(fd.get()) != 0 && errno != EINVAL) fail(dir + "/" + name, "fsync failed", errno);
  }
}

}  // namespace

Recovery recover_in_place(const std::string& dir_real) {
  JournalInspection journal = inspect_journal(dir_real);
  const std::string staging = dir_real + "/" + kStagingDirName;
  switch (journal.state) {
    case JournalState::kNone:
      return {};
    case JournalState::kForeign:
      throw FixError(fmt::format(
          "{}/{}: not a journal this ckptdoctor wrote in this directory ({}); it is never "
          "replayed. If it came with the files, they may have been tampered with: check the "
          "checkpoint, remove {} and run again",
          staging, kCommitFileName, journal.reason, staging));
    case JournalState::kUncommitted:
      remove_tree(staging);
      fsync_dir(dir_real);
      return {Recovery::kDiscarded,
              fmt::format("discarded the staging files of an interrupted --in-place fix in {} (it "
                          "had not changed anything)",
                          dir_real)};
    case JournalState::kOurs:
      break;
  }
  UniqueFd dir = open_dir(dir_real);
  UniqueFd staging_fd = open_dir_beneath(dir.get(), dir_real, kStagingDirName, false);
  publish_beneath(journal.pending, staging_fd.get(), staging, dir.get(), dir_real);
  remove_tree(staging);
  fsync_dir(dir_real);
  return {Recovery::kFinished,
          fmt::format("finished the interrupted --in-place fix in {} ({} files renamed into "
                      "place); it was not applied again",
                      dir_real, journal.pending.size())};
}

WriteStats write_in_place(const Checkpoint& ck, const FixPlan& plan, const WriteOptions& options) {
  const std::string dir = ck.real_dir();
  const std::string staging = dir + "/" + kStagingDirName;
  std::vector<StageJob> jobs = stage_jobs(ck, plan, true);
  UniqueFd dir_fd = open_dir(dir);
  // Every name must be journaled and reached beneath DIR without a link before anything is
  // staged: a journal this run could not replay would leave DIR half fixed.
  for (const StageJob& j : jobs) {
    if (std::string why = unjournalable_reason(j.relative); !why.empty())
      throw IoError(fmt::format("{}/{}: cannot be replaced in place ({})", dir, j.relative, why));
    open_dir_beneath(dir_fd.get(), dir, fs::path(j.relative).parent_path().string(), false);
  }
  remove_tree(staging);
  if (::mkdirat(dir_fd.get(), kStagingDirName, 0755) != 0)
    fail(staging, "cannot create the staging directory", errno);
  WriteStats stats;
  std::vector<JournalEntry> entries;
  UniqueFd staging_fd;
  try {
    staging_fd = open_dir_beneath(dir_fd.get(), dir, kStagingDirName, false);
    stats = stage_all(jobs, staging, options);
    // The commit point: once COMMIT exists, a re-run finishes the renames. The journal records
    // each staged file's identity, which proves on a re-run that the journal is ours.
    for (const StageJob& j : jobs)
      entries.push_back({j.relative, staged_file_id(staging_fd.get(), staging, j.relative)});
    std::string tmp = staging + "/" + kCommitFileName + ".tmp";
    stage_text(journal_text(entries), tmp);
    fsync_file(tmp);
    if (::renameat(staging_fd.get(), (std::string(kCommitFileName) + ".tmp").c_str(),
                   staging_fd.get(), kCommitFileName) != 0)
      fail(staging, "cannot commit", errno);
    fsync_dir(staging);
  } catch (...) {
    remove_tree(staging);
    throw;
  }
  crash_point("committed");
  publish_beneath(entries, staging_fd.get(), staging, dir_fd.get(), dir);
  remove_tree(staging);
  fsync_dir(dir);
  return stats;
}

}  // namespace ckd
