// Errors raised on worker threads reach the caller (issue 10 item 12): parallel_for rethrows the
// first one, and `scan --deep` on a shard that shrinks after it was opened fails with an IoError
// naming the file instead of std::terminate (an exception escaping a std::thread) or SIGBUS.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "checkpoint/checkpoint.h"
#include "io/parallel.h"
#include "rules/data_stats.h"
#include "test_util.h"

TEST_CASE("parallel_for: every index once when no body throws") {
  std::vector<std::atomic<int>> seen(1000);
  ckd::parallel_for(seen.size(), 8, [&](size_t i) { ++seen[i]; });
  for (const auto& s : seen) CHECK(s == 1);
}

TEST_CASE("parallel_for: an exception on a helper thread is rethrown in the caller") {
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> ran{0};
  // Only helper threads throw, so the error must cross a thread to be seen at all.
  auto body = [&](size_t) {
    ++ran;
    if (std::this_thread::get_id() != caller) throw std::runtime_error("helper failed");
    usleep(1000);  // let the helpers take items
  };
  CHECK_THROWS_WITH_AS(ckd::parallel_for(200, 4, body), "helper failed", std::runtime_error);
  CHECK(ran < 200);  // no new items after the failure
}

namespace {

// One BF16 tensor of `elements` ones (0x3F80): several 16 MiB work items of the --deep pass.
std::string write_shard(const std::string& dir, uint64_t elements) {
  std::string header = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[" + std::to_string(elements) +
                       "],\"data_offsets\":[0," + std::to_string(2 * elements) + "]}}";
  std::string data;
  data.reserve(2 * elements);
  for (uint64_t i = 0; i < elements; ++i) data += std::string("\x80\x3f", 2);
  std::string path = dir + "/model.safetensors";
  std::ofstream(path, std::ios::binary) << ckd_test::safetensors_bytes(header, data);
  return path;
}

}  // namespace

TEST_CASE("SideThread: runs its work once, beside the caller or in finish(), and rethrows there") {
  for (bool concurrent : {true, false}) {
    CAPTURE(concurrent);
    std::atomic<int> runs{0};
    std::thread::id ran_on;
    {
      ckd::SideThread side(
          [&] {
            ran_on = std::this_thread::get_id();
            ++runs;
          },
          concurrent);
      side.finish();
      CHECK(runs == 1);
      CHECK((ran_on == std::this_thread::get_id()) == !concurrent);
      side.finish();  // waits for nothing and runs nothing again
    }
    CHECK(runs == 1);
    ckd::SideThread failing([] { throw std::runtime_error("side failed"); }, concurrent);
    CHECK_THROWS_WITH(failing.finish(), "side failed");
    CHECK_NOTHROW(failing.finish());  // rethrown once
  }
  // An exception in the caller before finish(): the destructor waits for the work, which must
  // not outlive what it reads.
  std::atomic<bool> done{false};
  try {
    ckd::SideThread side(
        [&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          done = true;
        },
        true);
    throw std::runtime_error("caller failed");
  } catch (const std::runtime_error&) {
    CHECK(done);
  }
}

TEST_CASE("--deep on a shard that shrinks after opening: an IoError naming it, every thread count") {
  constexpr uint64_t kElements = 24ull << 20;  // 48 MiB: three work items
  ckd_test::TempDir tmp;
  for (int threads : {1, 4}) {
    for (bool progress : {false, true}) {
      CAPTURE(threads);
      CAPTURE(progress);
      std::string path = write_shard(tmp.path(), kElements);
      auto ck = ckd::Checkpoint::open(tmp.path());
      // Control: the intact shard reads through.
      auto intact = ckd::scan_tensor_data(*ck, threads, false);
      REQUIRE(intact.tensors.size() == 1);
      CHECK(intact.tensors.begin()->second.nan == 0);
      CHECK_FALSE(intact.tensors.begin()->second.all_zero);
      // The shard loses its tail between open and read.
      REQUIRE(::truncate(path.c_str(), 20ull << 20) == 0);
      CHECK_THROWS_AS(ckd::scan_tensor_data(*ck, threads, progress), ckd::IoError);
      try {
        ckd::scan_tensor_data(*ck, threads, progress);
      } catch (const ckd::IoError& e) {
        CHECK(std::string(e.what()).find("model.safetensors") != std::string::npos);
      }
    }
  }
}
