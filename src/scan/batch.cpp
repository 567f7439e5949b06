#include "scan/batch.h"

#include <fstream>
#include <mutex>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "io/byte_source.h"
#include "io/parallel.h"
#include "report/json_report.h"

namespace ckd {

namespace {

constexpr size_t kMaxLocationLine = 4096;
constexpr size_t kMaxLocations = 1'000'000;
constexpr size_t kMaxResultLine = 64ull << 20;  // one report of a huge checkpoint stays well under

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

// Reads lines of at most `max_line` bytes (a longer line is an error naming it), in chunks: no
// allocation larger than the bound whatever the file holds.
template <typename OnLine>
void for_each_line(const std::string& path, size_t max_line, OnLine&& on_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot read it", path));
  std::string line;
  size_t number = 0;
  std::vector<char> chunk(1 << 16);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    std::string_view got(chunk.data(), static_cast<size_t>(in.gcount()));
    while (!got.empty()) {
      size_t nl = got.find('\n');
      std::string_view part = got.substr(0, nl);
      if (line.size() + part.size() > max_line)
        throw IoError(
            fmt::format("{}: line {} is longer than {} bytes", path, number + 1, max_line));
      line.append(part);
      if (nl == std::string_view::npos) break;
      on_line(line, ++number, true);
      line.clear();
      got.remove_prefix(nl + 1);
    }
  }
  if (!line.empty()) on_line(line, ++number, false);  // no final newline
}

}  // namespace

std::vector<std::string> read_location_list(const std::string& path) {
  std::vector<std::string> out;
  for_each_line(path, kMaxLocationLine, [&](const std::string& raw, size_t number, bool) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') return;
    if (out.size() >= kMaxLocations)
      throw IoError(fmt::format("{}: more than {} locations (line {})", path, kMaxLocations, number));
    out.push_back(std::move(line));
  });
  return out;
}

std::set<std::string> read_done_locations(const std::string& jsonl_path) {
  std::set<std::string> done;
  std::ifstream probe(jsonl_path);
  if (!probe) return done;
  probe.close();
  for_each_line(jsonl_path, kMaxResultLine, [&](const std::string& line, size_t, bool complete) {
    if (!complete) return;  // cut off by an interrupted run
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return;
    auto where = j.find("checkpoint");
    auto code = j.find("exit");
    if (where == j.end() || !where->is_string() || code == j.end() || !code->is_number_integer())
      return;
    int exit_code = code->get<int>();
    if (exit_code == 0 || exit_code == 1) done.insert(where->get<std::string>());
  });
  return done;
}

int run_batch(const std::vector<std::string>& locations, int jobs,
              const std::function<ScanReport(const std::string&)>& scan_one,
              const std::function<void(BatchResult&&)>& done) {
  std::mutex done_mutex;
  int worst = 0;
  parallel_for(locations.size(), std::max(1, jobs), [&](size_t i) {
    BatchResult result;
    result.location = locations[i];
    try {
      result.report = scan_one(locations[i]);
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    std::lock_guard lock(done_mutex);
    int code = result.exit_code();
    worst = code == 2 || worst == 2 ? 2 : std::max(worst, code);
    done(std::move(result));
  });
  return worst;
}

nlohmann::json batch_result_json(const BatchResult& result) {
  if (!result.report)
    return {{"checkpoint", result.location}, {"exit", 2}, {"error", result.error}};
  nlohmann::json j = scan_report_json(*result.report);
  j["checkpoint"] = result.location;
  j["exit"] = result.exit_code();
  return j;
}

}  // namespace ckd
