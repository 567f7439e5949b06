// ckptdoctor diff's reporters: text, JSON (schema in README "diff") and Markdown (a
// pull-request comment or a model card section).
#pragma once

#include <ostream>

#include "diff/checkpoint_diff.h"
#include "report/text_style.h"

namespace ckd {

// `limit`: at most this many items per list in text and Markdown (0: all); JSON lists all.
void write_diff_text(std::ostream& out, const CheckpointDiff& diff, const Palette& palette,
                     size_t limit);
void write_diff_json(std::ostream& out, const CheckpointDiff& diff);
void write_diff_markdown(std::ostream& out, const CheckpointDiff& diff, size_t limit);

}  // namespace ckd
