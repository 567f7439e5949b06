// The progress line's text: amount done of the total, the rate and the time left.
#include <doctest/doctest.h>

#include <stdexcept>

#include "io/progress.h"

using ckd::ProgressLine;

TEST_CASE("progress lines: bytes and items, rate and time left once a second has passed") {
  CHECK(ProgressLine::render("compare", 0, 8ull << 30, ProgressLine::Unit::kBytes, "", 0.2) ==
        "ckptdoctor: compare 0 KiB of 8.0 GiB (0%)");
  CHECK(ProgressLine::render("compare", 2ull << 30, 8ull << 30, ProgressLine::Unit::kBytes, "",
                             4.0) == "ckptdoctor: compare 2.0 GiB of 8.0 GiB (25%), 512.0 MiB/s, 12s left");
  CHECK(ProgressLine::render("scan", 30, 1000, ProgressLine::Unit::kItems, "checkpoints", 60) ==
        "ckptdoctor: scan 30 of 1000 checkpoints (3%), 0.5/s, 32m20s left");
  CHECK(ProgressLine::render("fix", 5, 5, ProgressLine::Unit::kItems, "shards", 2) ==
        "ckptdoctor: fix 5 of 5 shards (100%), 2.5/s");
}

TEST_CASE("--progress: auto, always, never") {
  CHECK(ckd::progress_wanted("always"));
  CHECK_FALSE(ckd::progress_wanted("never"));
  CHECK_THROWS_AS(ckd::progress_wanted("sometimes"), std::invalid_argument);
  { ProgressLine off(false, "x", 10, ProgressLine::Unit::kItems); off.add(3); }  // no thread
}
