// The --deep SWAR counters against the scalar decoders (themselves checked against ml_dtypes):
// every code of each format, in every position of a word, with odd-length tails.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "numerics/float_decode.h"
#include "rules/data_stats.h"
#include "rules/engine.h"
#include "rules/scale_values.h"
#include "test_util.h"

namespace {

ckd::DataStats reference(ckd::Dtype d, const std::string& bytes) {
  ckd::DataStats s;
  uint64_t size = ckd::dtype_bits(d) / 8;
  for (uint64_t i = 0; i < bytes.size() / size; ++i) {
    double v = *ckd::decode_element(d, bytes, i);
    s.nan += std::isnan(v);
    s.inf += std::isinf(v);
  }
  s.all_zero = bytes.find_first_not_of('\0') == std::string::npos;
  return s;
}

void check_all_codes(ckd::Dtype d, uint32_t codes, uint32_t step) {
  uint32_t size = ckd::dtype_bits(d) / 8;
  for (size_t shift = 0; shift < 8; shift += size) {  // each lane position
    for (size_t tail = 0; tail < 3; ++tail) {         // lengths that leave a tail
      std::string bytes(shift, '\x11');
      bytes.resize(bytes.size() / size * size);
      for (uint64_t c = 0; c < codes; c += step) {
        uint64_t code = d == ckd::Dtype::kF32 ? (c << 16) | (c & 0xFFFF) : c;
        bytes.append(reinterpret_cast<const char*>(&code), size);
      }
      bytes.append(tail * size, '\0');
      auto got = ckd::count_values(d, bytes);
      auto want = reference(d, bytes);
      CAPTURE(ckd::dtype_name(d));
      CAPTURE(shift);
      CAPTURE(tail);
      CHECK(got.nan == want.nan);
      CHECK(got.inf == want.inf);
      CHECK(got.all_zero == want.all_zero);
    }
  }
}

}  // namespace

TEST_CASE("SWAR NaN/Inf counters agree with the scalar decoders on every code") {
  check_all_codes(ckd::Dtype::kF8_E4M3, 256, 1);
  check_all_codes(ckd::Dtype::kF8_E5M2, 256, 1);
  check_all_codes(ckd::Dtype::kF8_E4M3FNUZ, 256, 1);
  check_all_codes(ckd::Dtype::kBF16, 65536, 1);
  check_all_codes(ckd::Dtype::kF16, 65536, 1);
  check_all_codes(ckd::Dtype::kF32, 65536, 1);  // high and low halves both sweep all 16-bit codes
}

TEST_CASE("all-zero detection") {
  CHECK(ckd::count_values(ckd::Dtype::kBF16, std::string(64, '\0')).all_zero);
  std::string one(64, '\0');
  one[63] = 1;
  CHECK_FALSE(ckd::count_values(ckd::Dtype::kBF16, one).all_zero);
  CHECK_FALSE(ckd::count_values(ckd::Dtype::kU8, std::string("\0\0\x01", 3)).all_zero);
  CHECK(ckd::count_values(ckd::Dtype::kI32, std::string(12, '\0')).all_zero);
}

// Scale statistics (the scales tier): the fast path for all-positive chunks and the general
// loop against an element-by-element oracle written from the contract (decode_element, frexp),
// on every code of F8_E4M3 and on F32 / BF16 values with zeros, negatives, NaN, Inf,
// subnormals and powers of two at chosen positions, in chunks of several sizes.
namespace {

ckd::ScaleStats scale_oracle(ckd::Dtype d, const std::string& bytes) {
  ckd::ScaleStats s;
  uint64_t size = ckd::dtype_bits(d) / 8;
  s.count = bytes.size() / size;
  for (uint64_t i = 0; i < s.count; ++i) {
    double v = *ckd::decode_element(d, bytes, i);
    if (i == 0) s.first = v;
    if (std::isnan(v) || std::isinf(v)) {
      if (s.nan + s.inf == 0) s.first_non_finite = i;
      (std::isnan(v) ? s.nan : s.inf)++;
      continue;
    }
    int e = 0;
    if (v > 0 && std::frexp(v, &e) != 0.5 && s.not_power_of_two++ == 0) {
      s.first_not_power_of_two = i;
      s.first_not_power_of_two_value = v;
    }
    if (v <= 0) {
      if (s.zero + s.negative == 0) {
        s.first_non_positive = i;
        s.first_non_positive_value = v;
      }
      (v == 0 ? s.zero : s.negative)++;
    }
    s.min = s.any_finite ? std::min(s.min, v) : v;
    s.max = s.any_finite ? std::max(s.max, v) : v;
    s.any_finite = true;
  }
  return s;
}

void check_scale_stats(ckd::Dtype d, const std::string& bytes) {
  ckd::ScaleStats want = scale_oracle(d, bytes);
  for (uint64_t chunk : {uint64_t{1}, uint64_t{3}, uint64_t{64}, uint64_t{1} << 20}) {
    CAPTURE(chunk);
    ckd::ScaleStats got = ckd::scale_stats_of_bytes(d, bytes, chunk);
    CHECK(got.count == want.count);
    CHECK(got.nan == want.nan);
    CHECK(got.inf == want.inf);
    CHECK(got.zero == want.zero);
    CHECK(got.negative == want.negative);
    CHECK(got.first_non_finite == want.first_non_finite);
    CHECK(got.first_non_positive == want.first_non_positive);
    CHECK(std::memcmp(&got.first_non_positive_value, &want.first_non_positive_value, 8) == 0);
    CHECK(got.any_finite == want.any_finite);
    CHECK(std::memcmp(&got.min, &want.min, 8) == 0);
    CHECK(std::memcmp(&got.max, &want.max, 8) == 0);
    CHECK((std::memcmp(&got.first, &want.first, 8) == 0 ||
           (std::isnan(got.first) && std::isnan(want.first))));
    CHECK(got.not_power_of_two == want.not_power_of_two);
    CHECK(got.first_not_power_of_two == want.first_not_power_of_two);
    CHECK(got.first_not_power_of_two_value == want.first_not_power_of_two_value);
  }
}

template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace

TEST_CASE("scale statistics: fast path and general loop agree with an element-by-element oracle") {
  // Every E4M3 code, then only the positive finite ones (the fast path), then one bad code in
  // each position of a positive run.
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  check_scale_stats(ckd::Dtype::kF8_E4M3, all);
  std::string positive;
  for (int c = 1; c < 0x7F; ++c) positive.push_back(static_cast<char>(c));
  check_scale_stats(ckd::Dtype::kF8_E4M3, positive);
  for (char bad : {'\x00', '\x80', '\x7F', '\xC0'}) {
    for (size_t at : {size_t{0}, size_t{5}, positive.size() - 1}) {
      std::string s = positive;
      s[at] = bad;
      CAPTURE(at);
      check_scale_stats(ckd::Dtype::kF8_E4M3, s);
    }
  }
  // F32: normal and subnormal powers of two and not, and each special value in turn.
  const std::vector<float> base = {0.25f, 3.0f, 1e-40f, std::ldexp(1.0f, -140), 448.0f,
                                   0.001f, 1.0f, std::ldexp(1.0f, -149), 6e4f, 2.0f};
  check_scale_stats(ckd::Dtype::kF32, bytes_of(base));
  for (float special : {0.0f, -0.0f, -2.0f, std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::quiet_NaN()}) {
    for (size_t at : {size_t{0}, size_t{4}, base.size() - 1}) {
      std::vector<float> v = base;
      v[at] = special;
      CAPTURE(at);
      CAPTURE(special);
      check_scale_stats(ckd::Dtype::kF32, bytes_of(v));
    }
  }
  // BF16: the upper halves of the same floats.
  std::vector<uint16_t> bf16;
  for (float f : base) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    bf16.push_back(static_cast<uint16_t>(u >> 16));
  }
  check_scale_stats(ckd::Dtype::kBF16, bytes_of(bf16));
  bf16[3] = 0x8000;  // -0
  check_scale_stats(ckd::Dtype::kBF16, bytes_of(bf16));
  // Runs long enough for the eight-lane summary, with tails of every length: powers of two
  // only, then a value that is not, and each special value, at positions inside the vector body
  // and in the tail; patterns from the smallest subnormal up to the greatest finite value.
  const std::vector<float> wide = {std::ldexp(1.0f, -149), 3.4028235e38f, 1e-40f, 0.5f, 7.0f,
                                   1.0f,  2.5e-3f, std::ldexp(1.0f, -130), 65504.0f, 1.5f};
  for (size_t length : {size_t{8}, size_t{9}, size_t{15}, size_t{16}, size_t{37}, size_t{64}}) {
    std::vector<float> pow2(length), mixed(length);
    std::vector<uint16_t> pow2_bf16(length), mixed_bf16(length);
    std::string pow2_e4m3(length, '\0'), mixed_e4m3(length, '\0');
    for (size_t i = 0; i < length; ++i) {
      pow2[i] = std::ldexp(1.0f, static_cast<int>(i % 40) - 20);
      mixed[i] = wide[(i * 7) % wide.size()];
      pow2_bf16[i] = static_cast<uint16_t>(std::bit_cast<uint32_t>(pow2[i]) >> 16);
      mixed_bf16[i] = static_cast<uint16_t>(0x0001 + (i * 0x1F3) % 0x7F7F);
      pow2_e4m3[i] = static_cast<char>(i % 2 ? 0x08 * (1 + i % 15) : 1 << (i % 3));
      mixed_e4m3[i] = static_cast<char>(1 + (i * 11) % 0x7E);
    }
    CAPTURE(length);
    check_scale_stats(ckd::Dtype::kF32, bytes_of(pow2));
    check_scale_stats(ckd::Dtype::kBF16, bytes_of(pow2_bf16));
    check_scale_stats(ckd::Dtype::kF8_E4M3, pow2_e4m3);
    check_scale_stats(ckd::Dtype::kF32, bytes_of(mixed));
    check_scale_stats(ckd::Dtype::kBF16, bytes_of(mixed_bf16));
    check_scale_stats(ckd::Dtype::kF8_E4M3, mixed_e4m3);
    for (size_t at : {size_t{0}, size_t{3}, length / 2, length - 1}) {
      CAPTURE(at);
      std::vector<float> one_off = pow2;
      one_off[at] = 3.0f;
      check_scale_stats(ckd::Dtype::kF32, bytes_of(one_off));
      for (float special : {0.0f, -0.0f, -2.0f, std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN()}) {
        CAPTURE(special);
        std::vector<float> v = mixed;
        v[at] = special;
        check_scale_stats(ckd::Dtype::kF32, bytes_of(v));
        std::vector<uint16_t> h = mixed_bf16;
        h[at] = static_cast<uint16_t>(std::bit_cast<uint32_t>(special) >> 16);
        check_scale_stats(ckd::Dtype::kBF16, bytes_of(h));
      }
      for (char code : {'\x00', '\x80', '\x7F', '\xFF', '\xC0'}) {
        std::string e = mixed_e4m3;
        e[at] = code;
        check_scale_stats(ckd::Dtype::kF8_E4M3, e);
      }
    }
  }
  // A dtype without a fast path still goes through the general loop.
  check_scale_stats(ckd::Dtype::kF16, bytes_of(std::vector<uint16_t>{0x3C00, 0x4200, 0x0001}));
}

TEST_CASE("scale value cache: prefilled, one by one and repeated lookups give each scale's own statistics") {
  // 40 F32 scales of 3 values each, scale i holding i + 1, i + 2 and -i: every tensor's min, max
  // and negatives differ, so a lookup that returned another tensor's statistics would show.
  ckd_test::TempDir tmp;
  std::string header = "{", data;
  for (int i = 0; i < 40; ++i) {
    std::vector<float> v = {float(i + 1), float(i + 2), -float(i)};
    header += fmt::format("{}\"s{}\":{{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[{},{}]}}",
                          i ? "," : "", i, data.size(), data.size() + 12);
    data += bytes_of(v);
  }
  header += "}";
  std::ofstream(tmp.path() + "/model.safetensors", std::ios::binary)
      << ckd_test::safetensors_bytes(header, data);
  auto ck = ckd::Checkpoint::open(tmp.path());
  const auto& refs = ck->tensor_refs();
  REQUIRE(refs.size() == 40);
  // Every other scale prefilled, one of them twice; the rest are computed when asked.
  std::vector<const ckd::TensorRef*> batch;
  for (size_t i = 0; i < refs.size(); i += 2) batch.push_back(refs[i]);
  batch.push_back(refs[4]);
  ckd::ScaleValueCache cache;
  cache.prefill(batch);
  for (int pass = 0; pass < 2; ++pass) {
    for (const ckd::TensorRef* ref : refs) {
      const ckd::ScaleStats& got = cache.stats(*ref);
      const ckd::ScaleStats want = ckd::compute_scale_stats(*ref);
      CAPTURE(ref->info->name);
      REQUIRE(got.decoded);
      CHECK(got.min == want.min);
      CHECK(got.max == want.max);
      CHECK(got.first == want.first);
      CHECK(got.negative == want.negative);
      CHECK(&cache.stats(*ref) == &got);  // the same entry every time
    }
  }
  // A second prefill over scales already known leaves their entries where they are.
  const ckd::ScaleStats* before = &cache.stats(*refs[1]);
  cache.prefill({refs[1], refs[2]});
  CHECK(&cache.stats(*refs[1]) == before);
  CHECK(cache.stats(*refs[2]).max == ckd::compute_scale_stats(*refs[2]).max);
}

TEST_CASE("scale statistics decoded while the checkpoint opens: the header tier's findings") {
  // run_scan decodes the scales on a thread of their own while the tensor table is built;
  // run_rules alone decodes them in the header tier. Bad values in a scale of each shard that
  // holds scales: both must report every one, the same way.
  ckd_test::TempDir tmp;
  ckd::fixture::BenchShape shape;
  shape.layers = 4;
  shape.experts = 8;
  shape.shards = 3;  // the first two hold scales
  ckd::fixture::write_bench_checkpoint(tmp.path(), shape);
  {
    auto ck = ckd::Checkpoint::open(tmp.path());
    int corrupted = 0;
    std::vector<const ckd::Shard*> shards;
    for (const ckd::TensorRef* ref : ck->tensor_refs()) {
      // One scale in each shard.
      if (!ref->info->name.ends_with("weight_scale_inv") ||
          std::find(shards.begin(), shards.end(), ref->shard) != shards.end())
        continue;
      shards.push_back(ref->shard);
      REQUIRE(ref->info->dtype == ckd::Dtype::kBF16);
      const uint16_t bad[2] = {corrupted ? uint16_t{0xBF80} : uint16_t{0x7FC0}, 0};  // -1 / NaN, 0
      std::fstream f(tmp.path() + "/" + ref->shard->display_name(),
                     std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(ref->shard->data_start() + ref->info->begin + 4));
      f.write(reinterpret_cast<const char*>(bad), sizeof(bad));
      ++corrupted;
    }
    REQUIRE(corrupted == 2);
  }
  const ckd::ScanReport scanned = ckd_test::scan_all_rules(tmp.path());
  static const ckd::RuleSet rules = ckd::RuleSet::builtin();
  auto ck = ckd::Checkpoint::open(tmp.path());
  const std::vector<ckd::Finding> in_tier =
      ckd::run_rules(ckd::select_rules(rules, {}, {}), *ck, nullptr, ckd::ScanOptions{});
  auto lines = [](const std::vector<ckd::Finding>& findings, const std::string& only) {
    std::vector<std::string> out;
    for (const ckd::Finding& f : findings) {
      if (only.empty() || f.name == only) out.push_back(f.name + " " + f.tensor + ": " + f.message);
    }
    return out;
  };
  CHECK(lines(scanned.findings, "non-finite-scale").size() == 1);
  CHECK(lines(scanned.findings, "non-positive-scale").size() == 2);
  CHECK(lines(scanned.findings, "") == lines(in_tier, ""));
}
