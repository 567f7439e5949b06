// Shape, a tensor's dimensions (three inline, more on the heap): every rank from 0 to the
// format's cap keeps its dimensions through push_back, copy, move and assignment, and a shard
// header's entries of every rank read the same by the fast and the generic path.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "safetensors/shape.h"
#include "safetensors/shard.h"
#include "shard_parse_paths.h"

using ckd::Shape;

namespace {

std::vector<uint64_t> dims_of_rank(size_t rank) {
  std::vector<uint64_t> dims;
  for (size_t i = 0; i < rank; ++i) dims.push_back(1000 + 7 * i);
  return dims;
}

}  // namespace

TEST_CASE("Shape keeps every rank's dimensions through push_back, copy, move and assignment") {
  for (size_t rank : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{4}, size_t{5}, size_t{17},
                      ckd::kMaxRank}) {
    CAPTURE(rank);
    const std::vector<uint64_t> want = dims_of_rank(rank);
    Shape pushed;
    for (uint64_t d : want) pushed.push_back(d);
    CHECK(pushed.size() == rank);
    CHECK(pushed.empty() == (rank == 0));
    CHECK(pushed == want);
    CHECK(pushed.vector() == want);
    CHECK(Shape(want) == pushed);
    if (rank > 0) CHECK(pushed.back() == want.back());

    Shape copy(pushed);
    CHECK(copy == want);
    if (rank > 0) {
      copy[0] = 1;  // a copy owns its dimensions
      CHECK(pushed[0] == want[0]);
    }

    Shape moved(std::move(copy));
    CHECK(moved.size() == rank);
    CHECK(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract

    Shape assigned{9, 9};
    assigned = pushed;
    CHECK(assigned == want);
    Shape& self = assigned;
    assigned = self;
    CHECK(assigned == want);
    Shape move_assigned{1, 2, 3, 4, 5};  // on the heap before it takes another's
    move_assigned = std::move(assigned);
    CHECK(move_assigned == want);
    CHECK(assigned.empty());  // NOLINT(bugprone-use-after-move)

    // Cleared and refilled: the room it grew is reused.
    move_assigned.clear();
    CHECK(move_assigned.empty());
    for (uint64_t d : want) move_assigned.push_back(d + 1);
    CHECK(move_assigned.size() == rank);
    if (rank > 0) CHECK(move_assigned[rank - 1] == want[rank - 1] + 1);
  }
}

TEST_CASE("Shape compares by dimensions, never by where they are stored") {
  CHECK(Shape{4, 2} == Shape{4, 2});
  CHECK(Shape{4, 2} != Shape{2, 4});
  CHECK(Shape{4, 2} != Shape{4, 2, 1});
  CHECK(Shape{} == std::vector<uint64_t>{});
  CHECK(Shape{1, 2, 3, 4} == std::vector<uint64_t>{1, 2, 3, 4});
  CHECK(Shape{1, 2, 3, 4} != std::vector<uint64_t>{1, 2, 3});
  Shape grown;
  for (uint64_t d : {5u, 6u, 7u, 8u}) grown.push_back(d);
  grown.clear();
  for (uint64_t d : {5u, 6u}) grown.push_back(d);
  CHECK(grown == Shape{5, 6});  // on the heap now, equal to an inline one
}

TEST_CASE("a header's entries of rank 0 to 6 read the same dimensions by both parse paths") {
  std::string json = "{";
  uint64_t offset = 0;
  for (size_t rank = 0; rank <= 6; ++rank) {
    std::vector<uint64_t> dims(rank, 2);
    uint64_t bytes = uint64_t{1} << rank;  // U8: one byte per element
    json += fmt::format(R"({}"t{}":{{"dtype":"U8","shape":[{}],"data_offsets":[{},{}]}})",
                        rank ? "," : "", rank, fmt::join(dims, ","), offset, offset + bytes);
    offset += bytes;
  }
  json += "}";
  while (json.size() % 8) json += ' ';
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  file += json + std::string(offset, '\0');
  auto shard = ckd_test::parse_both_ways(file);
  REQUIRE(shard->tensors().size() == 7);
  for (const ckd::TensorInfo& t : shard->tensors()) {
    CAPTURE(t.name);
    const size_t rank = static_cast<size_t>(t.name[1] - '0');
    CHECK(t.shape == std::vector<uint64_t>(rank, 2));
    CHECK(t.readable);
  }
}
