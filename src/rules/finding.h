// A finding: one problem, one line, naming the file, the tensor, the value and the bound.
#pragma once

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
};

}  // namespace ckd
