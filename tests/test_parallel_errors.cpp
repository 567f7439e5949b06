// Errors raised on worker threads reach the caller (issue 10 item 12): parallel_for rethrows the
// first one, and `scan --deep` on a shard that shrinks after it was opened fails with an IoError
// naming the file instead of std::terminate (an exception escaping a std::thread) or SIGBUS.
#include <unistd.h>

#include <algorithm>
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
#include "rules/scale_values.h"
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

TEST_CASE("beside_tensor_table: may outlive open(); finish_beside_work waits for it and rethrows") {
  ckd_test::TempDir tmp;
  ckd_test::write_small_bench(tmp.path());
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    std::atomic<int> runs{0};
    std::atomic<size_t> shards_seen{0};
    ckd::OpenOptions options;
    options.threads = threads;
    options.beside_tensor_table = [&](const ckd::Checkpoint& c) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      shards_seen = c.shards().size();  // still alive: open() returned, the checkpoint did not go
      ++runs;
    };
    auto ck = ckd::Checkpoint::open(tmp.path(), options);
    ck->finish_beside_work();
    CHECK(runs == 1);
    CHECK(shards_seen == ck->shards().size());
    ck->finish_beside_work();  // nothing left to wait for
    CHECK(runs == 1);

    // Not waited for: the checkpoint's destructor joins it before the shards it reads go.
    options.beside_tensor_table = [&](const ckd::Checkpoint& c) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      shards_seen = c.shards().size() + 100;
      ++runs;
    };
    ckd::Checkpoint::open(tmp.path(), options).reset();
    CHECK(runs == (threads > 1 ? 2 : 1));  // with one thread it runs only when waited for

    options.beside_tensor_table = [](const ckd::Checkpoint&) {
      throw std::runtime_error("scale bytes unreadable");
    };
    auto failing = ckd::Checkpoint::open(tmp.path(), options);
    CHECK_THROWS_WITH(failing->finish_beside_work(), "scale bytes unreadable");
    CHECK_NOTHROW(failing->finish_beside_work());  // rethrown once
  }
}

namespace {

// Every built-in rule, selected once for the tests below.
const std::vector<const ckd::Rule*>& all_rules() {
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  static const std::vector<const ckd::Rule*> selected = ckd::select_rules(rules, {}, {});
  return selected;
}

ckd::ScanOptions with_threads(int threads) {
  ckd::ScanOptions options;
  options.threads = threads;
  return options;
}

// The block scales (weight_scale_inv) of a checkpoint, shard by shard in header order.
std::vector<ckd::TensorRef> block_scales(const ckd::Checkpoint& ck) {
  std::vector<ckd::TensorRef> out;
  for (const auto& s : ck.shards()) {
    for (const ckd::TensorInfo& t : s->tensors())
      if (t.name.ends_with("weight_scale_inv")) out.push_back({s.get(), &t});
  }
  return out;
}

}  // namespace

TEST_CASE("run_rules: a scale decode still running when the rules start; its failure fails them") {
  ckd_test::TempDir tmp;
  ckd_test::write_small_bench(tmp.path());
  {
    // One scale made NaN, so the scale rules have a finding to agree on.
    auto ck = ckd::Checkpoint::open(tmp.path());
    const std::vector<ckd::TensorRef> scales = block_scales(*ck);
    REQUIRE(!scales.empty());
    const ckd::TensorRef scale = scales.front();
    REQUIRE(scale.info->dtype == ckd::Dtype::kBF16);
    std::fstream f(tmp.path() + "/" + scale.shard->display_name(),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(scale.shard->data_start() + scale.info->begin));
    f.write("\xc0\x7f", 2);  // BF16 quiet NaN, little-endian
  }
  const auto& selected = all_rules();
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    const ckd::ScanOptions scan_options = with_threads(threads);
    auto ck = ckd::Checkpoint::open(tmp.path());
    const std::vector<ckd::Finding> plain = ckd::run_rules(selected, *ck, nullptr, scan_options);

    // The decode finishes only when the first scale rule waits for it: the findings are the
    // ones of a scan that decoded the scales in its own header tier.
    ckd::OpenedWork opened;
    auto scales = std::make_shared<ckd::ScaleValueCache>();
    opened.scales = scales;
    std::atomic<int> waits{0};
    opened.finish_scales = [&waits, &ck, scales, threads] {
      ++waits;
      ckd::prefill_scale_stats(ck->shards(), *scales, threads);
    };
    const std::vector<ckd::Finding> early =
        ckd::run_rules(selected, *ck, nullptr, scan_options, nullptr, {}, std::move(opened));
    CHECK(waits == 1);
    CHECK(std::any_of(plain.begin(), plain.end(),
                      [](const ckd::Finding& f) { return f.name == "non-finite-scale"; }));
    REQUIRE(early.size() == plain.size());
    for (size_t i = 0; i < early.size(); ++i) {
      CHECK(early[i].code == plain[i].code);
      CHECK(early[i].message == plain[i].message);
    }

    ckd::OpenedWork failed;
    failed.scales = std::make_shared<ckd::ScaleValueCache>();
    failed.finish_scales = [] { throw std::runtime_error("connection reset"); };
    CHECK_THROWS_WITH(
        ckd::run_rules(selected, *ck, nullptr, scan_options, nullptr, {}, std::move(failed)),
        "reading scale tensors: connection reset");
  }
}

TEST_CASE("a scale tensor whose bytes cannot be read fails the scan with the reason") {
  ckd_test::TempDir tmp;
  ckd_test::write_small_bench(tmp.path());
  const auto& selected = all_rules();
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    const ckd::ScanOptions scan_options = with_threads(threads);
    auto ck = ckd::Checkpoint::open(tmp.path());
    CHECK_NOTHROW(ckd::run_rules(selected, *ck, nullptr, scan_options));  // control
    // The shard holding the scale that ends last loses that scale's bytes after the open.
    const std::vector<ckd::TensorRef> scales = block_scales(*ck);
    REQUIRE(!scales.empty());
    const auto last_ending = std::max_element(
        scales.begin(), scales.end(),
        [](const ckd::TensorRef& a, const ckd::TensorRef& b) { return a.info->end < b.info->end; });
    const ckd::Shard* shard = last_ending->shard;
    const ckd::TensorInfo* last = last_ending->info;
    const std::string path = tmp.path() + "/" + shard->display_name();
    const auto size = std::filesystem::file_size(path);
    REQUIRE(::truncate(path.c_str(), static_cast<off_t>(shard->data_start() + last->begin)) == 0);
    try {
      ckd::run_rules(selected, *ck, nullptr, scan_options);
      FAIL("a scale that cannot be read passed");
    } catch (const std::exception& e) {
      const std::string message = e.what();
      CHECK(message.starts_with("reading scale tensors: "));
      CHECK(message.find(shard->display_name()) != std::string::npos);
    }
    std::filesystem::resize_file(path, size);  // the next round starts from an intact file
  }
}
