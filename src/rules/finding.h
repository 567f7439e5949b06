// A finding: one problem, one line, naming the file, the tensor, the value and the bound.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ckd {

enum class Severity { kInfo = 0, kWarning = 1, kError = 2 };

const char* severity_name(Severity s);
std::optional<Severity> parse_severity(std::string_view s);

struct Finding {
  std::string code;  // CKD + 3 digits
  std::string name;  // kebab-case rule name
  Severity severity = Severity::kError;
  std::string file;    // relative to the checkpoint directory; empty for the checkpoint itself
  std::string tensor;  // empty when the finding is not about one tensor
  std::string message;
  // Not a finding but a note standing for this many further findings of the rule that a capped
  // check did not list ("... and 4 more"). Counts and gates include them; CI formats carry the
  // note as the truncation their format can express, never as a result of its own.
  uint64_t omitted = 0;

  // How many findings this entry stands for.
  uint64_t count() const { return omitted ? omitted : 1; }
};

}  // namespace ckd
