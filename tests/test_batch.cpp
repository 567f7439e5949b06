// Batch scans: location lists, resumable JSON Lines results, bounded concurrency.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "io/byte_source.h"
#include "scan/batch.h"
#include "test_util.h"

TEST_CASE("location lists: one a line, comments and blanks skipped, bounded lines") {
  ckd_test::TempDir tmp;
  std::string list = tmp.path() + "/list.txt";
  std::ofstream(list) << "# survey\n  /data/a  \n\nhf://org/b@main\r\n#x\nhttps://h/o/r/resolve/main/";
  auto got = ckd::read_location_list(list);
  CHECK(got == std::vector<std::string>{"/data/a", "hf://org/b@main", "https://h/o/r/resolve/main/"});

  std::ofstream(list) << "ok\n" << std::string(5000, 'x') << "\n";
  CHECK_THROWS_WITH_AS(ckd::read_location_list(list), doctest::Contains("line 2 is longer"),
                       ckd::IoError);
  CHECK_THROWS_AS(ckd::read_location_list(tmp.path() + "/missing"), ckd::IoError);
}

TEST_CASE("--skip-done: finished scans are done; errors and a cut-off last line run again") {
  ckd_test::TempDir tmp;
  std::string jsonl = tmp.path() + "/out.jsonl";
  CHECK(ckd::read_done_locations(jsonl).empty());  // no file yet
  std::ofstream(jsonl) << R"({"checkpoint":"a","exit":0})" "\n"
                       << R"({"checkpoint":"b","exit":1})" "\n"
                       << R"({"checkpoint":"c","exit":2,"error":"timeout"})" "\n"
                       << "not json\n"
                       << R"({"checkpoint":"d"})" "\n"
                       << R"({"checkpoint":"e","exit":0})";  // no newline: cut off
  CHECK(ckd::read_done_locations(jsonl) == std::set<std::string>{"a", "b"});
}

TEST_CASE("run_batch: every location once, bounded concurrency, one failure does not stop it") {
  std::vector<std::string> locations;
  for (int i = 0; i < 12; ++i) locations.push_back("ck" + std::to_string(i));
  std::atomic<int> running{0}, peak{0};
  auto scan_one = [&](const std::string& where) {
    int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --running;
    if (where == "ck3") throw ckd::IoError("ck3: unreachable");
    ckd::ScanReport r;
    r.dir = where;
    r.failed = where == "ck5";
    return r;
  };
  std::multiset<std::string> seen;
  std::map<std::string, int> codes;
  int code = ckd::run_batch(locations, 3, scan_one, [&](ckd::BatchResult&& r) {
    seen.insert(r.location);
    codes[r.location] = r.exit_code();
    nlohmann::json line = ckd::batch_result_json(r);
    CHECK(line["checkpoint"] == r.location);
    CHECK(line["exit"] == r.exit_code());
    if (!r.report) CHECK(line["error"] == "ck3: unreachable");
  });
  CHECK(code == 2);
  CHECK(seen.size() == 12);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 12);
  CHECK(codes["ck3"] == 2);
  CHECK(codes["ck5"] == 1);
  CHECK(codes["ck0"] == 0);
  CHECK(peak.load() <= 3);

  // Without the unreachable one, the worst is a failed scan.
  locations.erase(locations.begin() + 3);
  CHECK(ckd::run_batch(locations, 2, scan_one, [](ckd::BatchResult&&) {}) == 1);
}
