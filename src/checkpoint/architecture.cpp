#include "checkpoint/architecture.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <deque>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <set>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "io/checked.h"
#include "io/string_arena.h"
#include "io/text_hash.h"
#include "numerics/formats.h"

namespace ckd {

// Generated from rules/architectures/*.json (cmake/embed_rules.cmake).
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_architecture_files();

namespace {

using nlohmann::json;

// A failure to model: the config lacks a size, or an expression cannot be evaluated.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A size referring to one not defined yet: family files list sizes as a JSON object, whose key
// order is not kept, so sizes are defined in passes until every reference resolves.
struct UndefinedSize : ModelError {
  using ModelError::ModelError;
};

// Sizes larger than this are not a real model's; refusing them keeps every product in range.
constexpr int64_t kMaxSize = int64_t{1} << 40;
// Expected tensors: the largest real MoE configs expand to about 70k (Kimi-K2: 61 layers x 384
// experts x 3). Ten times that means a hostile config; stopping there bounds memory to ~50 MB.
constexpr size_t kMaxExpected = 700'000;

// ---------------------------------------------------------------------------------------------
// Expressions of the family files: integers, one string variable (layer_type), + - * / %,
// comparisons, && || !, parentheses, contains(list, value). "/" is Python's // (head_dim
// defaults to hidden_size // num_attention_heads in transformers).

struct Value {
  bool is_string = false;
  int64_t number = 0;
  std::string text;
};

struct Scope {
  const std::unordered_map<std::string, int64_t>* sizes = nullptr;
  const std::unordered_map<std::string, std::vector<Value>>* lists = nullptr;
  std::optional<int64_t> layer, expert;
  std::string layer_type;
};

class Expression {
 public:
  Expression(std::string_view text, const Scope& scope) : s_(text), scope_(scope) {}

  Value evaluate() {
    Value v = parse_or();
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw ModelError(fmt::format("expression \"{}\": {} at {}", s_, what, pos_));
  }
  void skip_space() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool eat(std::string_view op) {
    skip_space();
    if (s_.substr(pos_, op.size()) == op) {
      pos_ += op.size();
      return true;
    }
    return false;
  }
  int64_t num(const Value& v) const {
    if (v.is_string) fail("a string where a number belongs");
    return v.number;
  }
  static Value of(int64_t n) { return Value{false, n, {}}; }
  // Results stay within +-2^50: sizes are below 2^40, so no product of two overflows first.
  int64_t checked(int64_t r, bool overflowed) const {
    constexpr int64_t kLimit = int64_t{1} << 50;
    if (overflowed || r > kLimit || r < -kLimit) fail("value out of range");
    return r;
  }

  Value parse_or() {
    Value l = parse_and();
    while (eat("||")) {
      Value r = parse_and();
      l = of(num(l) != 0 || num(r) != 0);
    }
    return l;
  }
  Value parse_and() {
    Value l = parse_compare();
    while (eat("&&")) {
      Value r = parse_compare();
      l = of(num(l) != 0 && num(r) != 0);
    }
    return l;
  }
  Value parse_compare() {
    Value l = parse_sum();
    for (std::string_view op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (eat(op)) {
        Value r = parse_sum();
        if (l.is_string != r.is_string) fail("comparing a string with a number");
        if (op == "==") return of(l.is_string ? l.text == r.text : l.number == r.number);
        if (op == "!=") return of(l.is_string ? l.text != r.text : l.number != r.number);
        int64_t a = num(l), b = num(r);
        if (op == "<=") return of(a <= b);
        if (op == ">=") return of(a >= b);
        if (op == "<") return of(a < b);
        return of(a > b);
      }
    }
    return l;
  }
  Value parse_sum() {
    Value l = parse_product();
    while (true) {
      if (eat("+")) {
        int64_t r = 0;
        bool o = __builtin_add_overflow(num(l), num(parse_product()), &r);
        l = of(checked(r, o));
      } else if (eat("-")) {
        int64_t r = 0;
        bool o = __builtin_sub_overflow(num(l), num(parse_product()), &r);
        l = of(checked(r, o));
      } else {
        return l;
      }
    }
  }
  Value parse_product() {
    Value l = parse_unary();
    while (true) {
      if (eat("*")) {
        int64_t r = 0;
        bool o = __builtin_mul_overflow(num(l), num(parse_unary()), &r);
        l = of(checked(r, o));
      } else if (eat("/")) {
        int64_t d = num(parse_unary());
        if (d == 0) fail("division by zero");
        l = of(num(l) / d);
      } else if (eat("%")) {
        int64_t d = num(parse_unary());
        if (d == 0) fail("modulo by zero");
        l = of(num(l) % d);
      } else {
        return l;
      }
    }
  }
  Value parse_unary() {
    if (eat("!")) return of(num(parse_unary()) == 0);
    if (eat("-")) return of(-num(parse_unary()));
    return parse_atom();
  }
  Value parse_atom() {
    skip_space();
    if (pos_ >= s_.size()) fail("missing operand");
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      Value v = parse_or();
      if (!eat(")")) fail("missing )");
      return v;
    }
    if (c == '\'') {
      size_t end = s_.find('\'', pos_ + 1);
      if (end == std::string_view::npos) fail("unterminated string");
      Value v{true, 0, std::string(s_.substr(pos_ + 1, end - pos_ - 1))};
      pos_ = end + 1;
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      int64_t n = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        n = n * 10 + (s_[pos_++] - '0');
        if (n > kMaxSize) fail("number too large");
      }
      return of(n);
    }
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      ++pos_;
    if (start == pos_) fail("unexpected character");
    std::string name(s_.substr(start, pos_ - start));
    if (name == "contains") {
      if (!eat("(")) fail("contains needs (");
      skip_space();
      size_t list_start = pos_;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
        ++pos_;
      std::string list(s_.substr(list_start, pos_ - list_start));
      if (!eat(",")) fail("contains needs two arguments");
      Value needle = parse_or();
      if (!eat(")")) fail("missing )");
      auto it = scope_.lists->find(list);
      if (it == scope_.lists->end()) fail("unknown list");
      for (const Value& v : it->second) {
        if (v.is_string == needle.is_string &&
            (v.is_string ? v.text == needle.text : v.number == needle.number))
          return of(1);
      }
      return of(0);
    }
    if (name == "L") {
      if (!scope_.layer) fail("L outside a per-layer tensor");
      return of(*scope_.layer);
    }
    if (name == "layer_type") return Value{true, 0, scope_.layer_type};
    auto it = scope_.sizes->find(name);
    if (it == scope_.sizes->end())
      throw UndefinedSize(fmt::format("size \"{}\" is undefined", name));
    return of(it->second);
  }

  std::string_view s_;
  const Scope& scope_;
  size_t pos_ = 0;
};

int64_t evaluate_number(std::string_view text, const Scope& scope) {
  Value v = Expression(text, scope).evaluate();
  if (v.is_string) throw ModelError(fmt::format("expression \"{}\" is a string", text));
  return v.number;
}

// ---------------------------------------------------------------------------------------------
// Config lookup: "text" sizes come from text_config (language_config, llm_config) first, then the
// top level; "top" the other way round; "vision" from vision_config only.

const json* lookup(const json& config, const std::string& key, const std::string& where) {
  auto nested = [&](const char* section) -> const json* {
    auto it = config.find(section);
    if (it == config.end() || !it->is_object()) return nullptr;
    auto v = it->find(key);
    return v == it->end() || v->is_null() ? nullptr : &*v;
  };
  auto top = [&]() -> const json* {
    auto v = config.find(key);
    return v == config.end() || v->is_null() ? nullptr : &*v;
  };
  if (where == "vision") return nested("vision_config");
  if (where == "top") {
    if (const json* v = top()) return v;
  }
  for (const char* section : {"text_config", "language_config", "llm_config"}) {
    if (const json* v = nested(section)) return v;
  }
  return top();
}

std::optional<int64_t> as_size(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(kMaxSize)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < -kMaxSize || i > kMaxSize) return std::nullopt;
    return i;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d >= 0 && d <= 1e12)
      return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Family files.

struct Family {
  std::string file;
  json spec;
};

// The embedded family file `i`, parsed on first use (a scan parses only the files that can
// describe its class, see builtin_families_naming).
const Family& builtin_family(size_t i) {
  static const auto& files = embedded_architecture_files();
  static std::vector<std::once_flag> once(files.size());
  static std::vector<Family> parsed(files.size());
  std::call_once(once[i], [i] {
    parsed[i] = Family{std::string(files[i].first), json::parse(files[i].second)};
  });
  return parsed[i];
}

std::vector<const Family*> builtin_families() {
  std::vector<const Family*> out;
  for (size_t i = 0; i < embedded_architecture_files().size(); ++i)
    out.push_back(&builtin_family(i));
  return out;
}

// The embedded files whose text holds `class_name` as a JSON string: only they can list it
// under "classes" (the files are ours and spell class names without escapes).
std::vector<const Family*> builtin_families_naming(const std::string& class_name) {
  const std::string quoted = "\"" + class_name + "\"";
  std::vector<const Family*> out;
  const auto& files = embedded_architecture_files();
  for (size_t i = 0; i < files.size(); ++i)
    if (files[i].second.find(quoted) != std::string_view::npos) out.push_back(&builtin_family(i));
  return out;
}

// A name pattern split once at its {L} and {E} placeholders: one tensor entry of a large MoE is
// expanded thousands of times (62k expected names), each a few appends and a number written in
// place. A placeholder without its number, and any other brace with the two bytes after it, stay
// as they are.
class NameTemplate {
 public:
  explicit NameTemplate(std::string_view pattern) {
    std::string text;
    size_t at = 0;
    while (at < pattern.size()) {
      size_t brace = pattern.find('{', at);
      if (brace == std::string_view::npos) break;
      text.append(pattern.substr(at, brace - at));
      std::string_view token = pattern.substr(brace, 3);
      if (token == "{L}" || token == "{E}") {
        pieces_.push_back({std::move(text), token[1]});
        text.clear();
      } else {
        text.append(token);
      }
      at = brace + 3;
    }
    if (at < pattern.size()) text.append(pattern.substr(at));
    tail_ = std::move(text);
  }

  void append_to(std::string& out, std::optional<int64_t> layer,
                 std::optional<int64_t> expert) const {
    for (const Piece& p : pieces_) {
      out.append(p.text_before);
      const std::optional<int64_t>& number = p.placeholder == 'L' ? layer : expert;
      if (number) {
        char digits[24];
        out.append(digits,
                   static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, *number).ptr -
                                       digits));
      } else {
        out.append(p.placeholder == 'L' ? "{L}" : "{E}");
      }
    }
    out.append(tail_);
  }

 private:
  struct Piece {
    std::string text_before;
    char placeholder;  // 'L' or 'E'
  };
  std::vector<Piece> pieces_;
  std::string tail_;
};

}  // namespace

struct ExpectedStorage {
  StringArena names;
  std::deque<ExpectedEntry> entries;  // a deque: tensors keep pointers to its elements
};

namespace {

struct Model {
  std::vector<ExpectedTensor> expected;
  std::shared_ptr<ExpectedStorage> storage = std::make_shared<ExpectedStorage>();
  std::map<std::string, std::string> prefixes;                  // stack -> expected prefix
  std::map<std::string, std::vector<std::string>> alternatives;  // stack -> accepted prefixes
  std::vector<std::string> opaque_prefixes;                     // loaded, not modeled
  std::vector<std::string> ignore_suffixes;
  // Other on-disk names of an expected tensor (gpt-oss MXFP4 _blocks/_scales): name -> index.
  std::unordered_map<std::string, size_t> alternative_names;
  std::map<int, std::string> tensor_parallel;
  // First segments of each stack's names ("embed_tokens", "layers", "norm") and the last
  // segments of all expected names ("weight", "bias", "A_log"), from the family's patterns.
  std::map<std::string, std::set<std::string>> roots;
  std::set<std::string, std::less<>> last_segments;
};

void build_tensor_parallel(const json& spec, const Scope& scope, const QuantScheme& scheme,
                           Model& model) {
  // The partition each rank holds must also cover whole quantization blocks / groups: vLLM
  // raises "not divisible by weight quantization block_n" (fp8.py) and the group kernels
  // require input_size_per_partition % group_size == 0.
  uint64_t granule = 1;
  std::string granule_what;
  for (const QuantGroup& g : scheme.groups) {
    uint64_t b = 1;
    if (g.block) b = std::max((*g.block)[0], (*g.block)[1]);
    if (g.group_size > b) b = g.group_size;
    if (b > granule) {
      granule = b;
      granule_what = g.block ? fmt::format("the {}x{} quantization block", (*g.block)[0],
                                           (*g.block)[1])
                             : fmt::format("the quantization group of {}", g.group_size);
    }
  }
  for (int tp : {1, 2, 4, 8}) model.tensor_parallel[tp] = "";
  for (const json& entry : spec.value("tensor_parallel", json::array())) {
    int64_t size = 0;
    try {
      if (entry.contains("when") &&
          evaluate_number(entry["when"].get<std::string>(), scope) == 0)
        continue;
      size = evaluate_number(entry.at("size").get<std::string>(), scope);
    } catch (const ModelError&) {
      continue;
    }
    if (size <= 0) continue;
    std::string what = entry.value("what", std::string());
    bool replicate = entry.value("replicate", false);
    bool quant_block = entry.value("quant_block", false);
    for (int tp : {2, 4, 8}) {
      std::string& reason = model.tensor_parallel[tp];
      if (!reason.empty()) continue;
      if (size % tp != 0) {
        // KV heads fewer than ranks are replicated (vLLM QKVParallelLinear) when tp divides evenly.
        if (replicate && size < tp && tp % size == 0) continue;
        reason = fmt::format("{} {} is not divisible by {}", what, size, tp);
      } else if (quant_block && granule > 1 && (size / tp) % static_cast<int64_t>(granule) != 0) {
        reason = fmt::format("{} {} / {} = {} is not a multiple of {}", what, size, tp, size / tp,
                             granule_what);
      }
    }
  }
  // A size that blocks tp also blocks every multiple of it.
  if (!model.tensor_parallel[2].empty() && model.tensor_parallel[4].empty())
    model.tensor_parallel[4] = model.tensor_parallel[2];
  if (!model.tensor_parallel[4].empty() && model.tensor_parallel[8].empty())
    model.tensor_parallel[8] = model.tensor_parallel[4];
}

// Builds the expected tensors of `class_name` from `config`. Throws ModelError.
Model build_model(const json& spec, const std::string& class_name, const json& config,
                  const QuantScheme& scheme) {
  const json& cls = spec.at("classes").at(class_name);
  std::unordered_map<std::string, int64_t> sizes;
  std::unordered_map<std::string, std::vector<Value>> lists;
  Scope scope;
  scope.sizes = &sizes;
  scope.lists = &lists;

  auto define = [&](const std::string& name, const json& s) {
    if (s.is_string()) {  // a class override: an expression
      sizes[name] = evaluate_number(s.get<std::string>(), scope);
      return;
    }
    std::string where = s.value("in", std::string("text"));
    const json* v = s.contains("key") ? lookup(config, s["key"].get<std::string>(), where)
                                      : nullptr;
    if (s.value("list", false)) {
      std::vector<Value>& out = lists[name];
      if (v && v->is_array()) {
        if (v->size() > 1'000'000) throw ModelError("list too long");
        for (const json& e : *v) {
          if (e.is_string()) {
            out.push_back(Value{true, 0, e.get<std::string>()});
          } else if (auto n = as_size(e)) {
            out.push_back(Value{false, *n, {}});
          }
        }
      }
      return;
    }
    if (v) {
      auto n = as_size(*v);
      if (!n) throw ModelError(fmt::format("config {} is not a whole number", s["key"].dump()));
      sizes[name] = *n;
      return;
    }
    if (s.contains("default")) {
      sizes[name] = evaluate_number(s["default"].get<std::string>(), scope);
      return;
    }
    throw ModelError(fmt::format("config.json has no {}", s.value("key", name)));
  };
  auto define_all = [&](const json& specs) {
    std::vector<std::pair<std::string, const json*>> pending;
    for (const auto& [name, s] : specs.items()) pending.emplace_back(name, &s);
    while (!pending.empty()) {
      std::vector<std::pair<std::string, const json*>> later;
      std::optional<UndefinedSize> last;
      for (const auto& [name, s] : pending) {
        try {
          define(name, *s);
        } catch (const UndefinedSize& e) {
          later.emplace_back(name, s);
          last = e;
        }
      }
      if (later.size() == pending.size()) throw *last;  // a cycle or an unknown size
      pending = std::move(later);
    }
  };
  define_all(spec.at("sizes"));
  const json class_sizes = cls.value("sizes", json::object());
  define_all(class_sizes);

  Model model;
  for (const auto& [stack, prefix] : cls.at("prefixes").items())
    model.prefixes[stack] = prefix.get<std::string>();
  const json accepted = cls.value("accepted", json::object());
  for (const auto& [stack, list] : accepted.items())
    for (const json& p : list) model.alternatives[stack].push_back(p.get<std::string>());
  // A stack the config does not describe (a ConditionalGeneration config without vision_config)
  // is not modeled; its tensors are neither missing nor unexpected.
  const json stacks_require = spec.value("stacks_require", json::object());
  for (const auto& [stack, key] : stacks_require.items()) {
    auto it = model.prefixes.find(stack);
    if (it == model.prefixes.end() || config.contains(key.get<std::string>())) continue;
    model.opaque_prefixes.push_back(it->second);
    model.prefixes.erase(it);
  }
  for (const json& p : cls.value("opaque", json::array()))
    model.opaque_prefixes.push_back(p.get<std::string>());
  for (const json& p : spec.value("ignore", json::array()))
    model.ignore_suffixes.push_back(p.get<std::string>());

  const int64_t layers = sizes.count("layers") ? sizes["layers"] : 0;
  if (layers < 0 || layers > 100'000) throw ModelError("num_hidden_layers out of range");
  const std::vector<Value>* layer_types = lists.count("layer_types") ? &lists["layer_types"] : nullptr;

  // Each entry's layer range [first, last) and expert count, evaluated once: they also bound
  // the number of expected tensors, so the list is allocated once (a regrowth would copy it into
  // fresh pages).
  struct Range {
    bool per_layer = false, per_expert = false;
    int64_t first = 0, last = 0, experts = 0;
  };
  std::vector<Range> ranges;
  uint64_t bound = 0;
  for (const json& t : spec.at("tensors")) {
    Range& r = ranges.emplace_back();
    // A stack this class lacks is never expanded: its sizes may be undefined.
    if (!model.prefixes.count(t.at("stack").get<std::string>())) continue;
    r.per_layer = t.contains("layers");
    if (r.per_layer) {
      if (t["layers"].is_array()) {
        r.first = evaluate_number(t["layers"][0].get<std::string>(), scope);
        r.last = evaluate_number(t["layers"][1].get<std::string>(), scope);
      } else {
        r.last = layers;
      }
      if (r.first < 0 || r.last - r.first > 100'000) throw ModelError("layer range out of range");
    }
    r.per_expert = t.contains("experts");
    if (r.per_expert) {
      r.experts = evaluate_number(t["experts"].get<std::string>(), scope);
      if (r.experts < 0 || r.experts > 100'000) throw ModelError("expert count out of range");
    }
    bound += static_cast<uint64_t>(r.per_layer ? std::max<int64_t>(r.last - r.first, 0) : 1) *
             static_cast<uint64_t>(r.per_expert ? r.experts : 1);
  }
  model.expected.reserve(static_cast<size_t>(std::min<uint64_t>(bound, kMaxExpected)));

  size_t entry_index = 0;
  for (const json& t : spec.at("tensors")) {
    const Range& range = ranges[entry_index++];
    const std::string stack = t.at("stack").get<std::string>();
    auto prefix_it = model.prefixes.find(stack);
    if (prefix_it == model.prefixes.end()) continue;  // this class has no such stack
    const std::string& prefix = prefix_it->second;
    const std::string pattern = t.at("name").get<std::string>();
    const std::string when = t.value("when", std::string());
    const bool optional = t.value("optional", false);
    const bool linear = t.value("linear", false);
    const int64_t first = range.first, last = range.last, experts = range.experts;
    const bool per_layer = range.per_layer, per_expert = range.per_expert;
    // Shapes depend only on sizes, so they are evaluated once per entry.
    std::vector<uint64_t> shape;
    std::string size_names;
    for (const json& d : t.at("shape")) {
      int64_t n = d.is_string() ? evaluate_number(d.get<std::string>(), scope)
                                : d.get<int64_t>();
      if (n < 0) throw ModelError(fmt::format("{}: negative dimension", pattern));
      shape.push_back(static_cast<uint64_t>(n));
      if (!size_names.empty()) size_names += ", ";
      size_names += d.is_string() ? d.get<std::string>() : d.dump();
    }
    model.roots[stack].insert(pattern.substr(0, pattern.find('.')));
    model.last_segments.insert(pattern.substr(pattern.rfind('.') + 1));
    const ExpectedEntry* entry =
        &model.storage->entries.emplace_back(ExpectedEntry{stack, std::move(shape), size_names});
    std::vector<NameTemplate> alts;  // quantized_as
    for (const json& a : t.value("quantized_as", json::array()))
      alts.emplace_back(a.at("name").get<std::string>());
    const NameTemplate name_template(pattern);

    std::string name;  // reused: its capacity serves every layer and expert
    auto add = [&](std::optional<int64_t> L, std::optional<int64_t> E) {
      if (model.expected.size() >= kMaxExpected) throw ModelError("too many expected tensors");
      name.assign(prefix);
      name_template.append_to(name, L, E);
      ExpectedTensor e;
      e.name = model.storage->names.add(name);
      e.stack = entry->stack;
      e.optional = optional;
      e.linear = linear;
      e.entry = entry;
      for (const NameTemplate& alt : alts) {
        name.assign(prefix);
        alt.append_to(name, L, E);
        model.alternative_names.emplace(name, model.expected.size());
      }
      model.expected.push_back(e);
    };
    auto selected = [&]() { return when.empty() || evaluate_number(when, scope) != 0; };
    auto for_experts = [&](std::optional<int64_t> L) {
      if (!per_expert) return add(L, std::nullopt);
      for (int64_t e = 0; e < experts; ++e) add(L, e);
    };
    if (!per_layer) {
      scope.layer.reset();
      scope.layer_type.clear();
      if (selected()) for_experts(std::nullopt);
      continue;
    }
    for (int64_t L = first; L < last; ++L) {
      scope.layer = L;
      scope.layer_type.clear();
      if (layer_types && static_cast<size_t>(L) < layer_types->size() &&
          (*layer_types)[static_cast<size_t>(L)].is_string)
        scope.layer_type = (*layer_types)[static_cast<size_t>(L)].text;
      if (selected()) for_experts(L);
    }
    scope.layer.reset();
  }
  build_tensor_parallel(spec, scope, scheme, model);
  return model;
}

bool is_optional(const ExpectedTensor& e) { return e.optional; }
std::string_view stack_of(const ExpectedTensor& e) { return e.stack; }

std::string_view first_segment(std::string_view s) { return s.substr(0, s.find('.')); }

// Names of the quantization formats' packed / sidecar parameters that an expected module may
// carry besides its weight (FORMATS.md §3-§6; MLX writes scales/biases, bitsandbytes
// weight.absmax / weight.quant_map / weight.quant_state.*).
bool is_sidecar_param(std::string_view param, std::string_view module) {
  if (param == "scales" || param == "biases") return true;  // MLX affine quantization
  TensorRole role = role_of_param(param, module);
  switch (role) {
    case TensorRole::kWeight:
    case TensorRole::kBias:
      return false;
    case TensorRole::kOther:
      // bitsandbytes LLM.int8 saves the layout of its weight (nn/modules.py Linear8bitLt).
      return param == "scales" || param == "biases" || param == "weight_format";
    default:
      return true;
  }
}

// Bits per logical element of a quantized weight, 0 when unknown.
int logical_bits(const json* config, const QuantGroup* group) {
  if (group) {
    if (group->bits > 0) return group->bits;
    switch (group->format) {
      case WeightFormat::kNvfp4:
      case WeightFormat::kMxfp4:
        return 4;
      case WeightFormat::kFp8Block:
      case WeightFormat::kFp8Tensor:
      case WeightFormat::kFp8Channel:
      case WeightFormat::kFp8Group:
      case WeightFormat::kMxfp8:
      case WeightFormat::kInt8:
        return 8;
      default:
        break;
    }
  }
  // MLX: {"quantization": {"bits": 4, "group_size": 64}}
  if (const json* c = config) {
    auto q = c->find("quantization");
    if (q != c->end() && q->is_object()) {
      auto b = q->find("bits");
      if (b != q->end() && b->is_number_integer()) {
        int64_t bits = b->get<int64_t>();
        if (bits > 0 && bits <= 16) return static_cast<int>(bits);
      }
    }
  }
  return 0;
}

// Whether a stored (packed) shape is `logical` packed along its last dim at `bits` per element.
bool packed_shape_fits(const TensorInfo& t, const std::vector<uint64_t>& logical, int bits) {
  if (t.shape.size() != logical.size() || logical.empty()) return false;
  for (size_t i = 0; i + 1 < logical.size(); ++i)
    if (t.shape[i] != logical[i]) return false;
  if (bits == 0 || !t.dtype) return true;  // packing unknown: only the leading dims are checked
  uint64_t stored_bits = dtype_bits(*t.dtype);
  uint64_t have = t.shape.back(), want = logical.back(), a = 0, b = 0;
  // have * stored_bits == want * bits; an overflowing product is no real tensor's.
  if (__builtin_mul_overflow(have, stored_bits, &a) ||
      __builtin_mul_overflow(want, static_cast<uint64_t>(bits), &b))
    return false;
  return a == b;
}

bool is_float_dtype(Dtype d) {
  switch (d) {
    case Dtype::kF16:
    case Dtype::kBF16:
    case Dtype::kF32:
    case Dtype::kF64:
      return true;
    default:
      return false;
  }
}

// Expected name -> index: open addressing over one array (a node-based map costs a malloc per
// name and a cache miss per probe; this runs once per scan over every tensor name).
class NameIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit NameIndex(const std::vector<ExpectedTensor>& expected) : expected_(expected.data()) {
    size_t size = 16;
    while (size < expected.size() * 2) size *= 2;
    mask_ = size - 1;
    slots_.assign(size, Slot{});
    for (size_t i = 0; i < expected.size(); ++i) {
      std::string_view name = expected[i].name;
      uint64_t h = hash(name);
      size_t at = h & mask_;
      while (slots_[at].index != kNone) {
        if (slots_[at].hash == static_cast<uint32_t>(h) && name_at(slots_[at]) == name) break;
        at = (at + 1) & mask_;
      }
      if (slots_[at].index == kNone)
        slots_[at] = Slot{static_cast<uint32_t>(h), static_cast<uint32_t>(i)};
    }
  }

  uint32_t find(std::string_view name) const {
    uint64_t h = hash(name);
    for (size_t at = h & mask_;; at = (at + 1) & mask_) {
      const Slot& slot = slots_[at];
      if (slot.index == kNone) return kNone;
      if (slot.hash == static_cast<uint32_t>(h) && name_at(slot) == name) return slot.index;
    }
  }
  bool contains(std::string_view name) const { return find(name) != kNone; }

 private:
  // 32 bits of the hash beside the index: 8 bytes a slot, so the table of the bench's 31k names
  // (512 KiB) stays in the L2 cache; a name is compared only when those bits agree.
  struct Slot {
    uint32_t hash = 0;
    uint32_t index = kNone;
  };
  static uint64_t hash(std::string_view s) { return hash_text(s); }
  std::string_view name_at(const Slot& s) const { return expected_[s.index].name; }

  // The model's list: its buffer survives the list's move into the diff
  // (ArchitectureDiff::expected); the list never changes after the index is built.
  const ExpectedTensor* expected_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// `ck` is null for a names-only diff (an index without its shards): no shapes are checked.
// Cost matters (62k names in the bench checkpoint, header tier): one hash lookup per name in the
// common healthy case; the prefix search and its tables are built only for names that miss.
// `by_name` indexes model.expected (whose elements move into `out` unchanged).
void diff_model(const std::vector<std::string_view>& names, const Checkpoint* ck,
                const json* config, Model& model, const NameIndex& by_name,
                ArchitectureDiff& out) {
  out.expected = std::move(model.expected);
  out.expected_storage = std::move(model.storage);
  out.tensor_parallel = std::move(model.tensor_parallel);
  const auto& expected = out.expected;

  // Pass 1: names the class defines as they are; the others that could locate a prefix.
  constexpr uint32_t kNone = NameIndex::kNone;
  std::vector<uint32_t> direct(names.size(), kNone);
  std::vector<size_t> search;
  // Every expected name ends in one of the family's last segments (unless a pattern's last
  // segment has a placeholder): a name ending otherwise (a scale, most sidecars) is not looked up.
  const bool by_last_segment =
      std::none_of(model.last_segments.begin(), model.last_segments.end(),
                   [](const std::string& s) { return s.find('{') != std::string::npos; });
  // Names come sorted, so a handful of last segments alternate (weight, weight_scale_inv, ...):
  // the last two answers are kept, and the set is searched only for a segment new to them.
  std::string_view recent_segment[2];  // both "" at first, with the set's answer for ""
  const bool empty_known = model.last_segments.count(std::string_view()) > 0;
  bool recent_known[2] = {empty_known, empty_known};
  // Each name's last dot, found once for the three passes below (npos: none).
  std::vector<size_t> last_dots(names.size());
  for (size_t n = 0; n < names.size(); ++n) {
    std::string_view name = names[n];
    last_dots[n] = name.rfind('.');  // the same with "_packed" taken off: it holds no dot
    if (name.ends_with("_packed")) name.remove_suffix(7);
    const std::string_view segment = name.substr(last_dots[n] + 1);
    bool known_last;
    if (segment == recent_segment[0]) {
      known_last = recent_known[0];
    } else if (segment == recent_segment[1]) {
      known_last = recent_known[1];
    } else {
      known_last = model.last_segments.find(segment) != model.last_segments.end();
      recent_segment[1] = recent_segment[0];
      recent_known[1] = recent_known[0];
      recent_segment[0] = segment;
      recent_known[0] = known_last;
    }
    if (by_last_segment && !known_last) continue;
    uint32_t hit = by_name.find(name);
    if (hit != kNone) {
      direct[n] = hit;
    } else if (known_last) {
      search.push_back(n);
    }
  }

  // Layout: per stack, the prefixes under which its names appear; names shared by two stacks
  // (Qwen3.5's mtp.layers.0.* repeats the text stack's layers.0.*) locate nothing.
  if (!search.empty()) {
    std::map<std::string, std::unordered_set<std::string_view>> relative;
    std::unordered_map<std::string_view, int> owners;
    for (const auto& e : expected) {
      std::string stack(stack_of(e));
      std::string_view rel = std::string_view(e.name).substr(model.prefixes[stack].size());
      if (relative[stack].insert(rel).second) ++owners[rel];
    }
    std::map<std::string, std::map<std::string, size_t>> candidates;
    for (size_t n : search) {
      std::string_view name = names[n];
      if (name.ends_with("_packed")) name.remove_suffix(7);
      size_t at = 0;
      for (int level = 0; level < 8 && at <= name.size(); ++level) {
        std::string_view rel = name.substr(at);
        auto owner = owners.find(rel);
        if (owner != owners.end() && owner->second == 1) {
          for (const auto& [stack, rels] : relative) {
            if (rels.count(rel)) {
              ++candidates[stack][std::string(name.substr(0, at))];
              break;
            }
          }
          break;
        }
        size_t dot = name.find('.', at);
        if (dot == std::string_view::npos) break;
        at = dot + 1;
      }
    }
    for (size_t n = 0; n < names.size(); ++n) {
      if (direct[n] == kNone) continue;
      std::string stack(stack_of(expected[direct[n]]));
      ++candidates[stack][model.prefixes[stack]];
    }
    for (const auto& [stack, counts] : candidates) {
      const std::string& want = model.prefixes[stack];
      auto best = std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      });
      if (best == counts.end() || best->first == want) continue;
      const auto& accepted = model.alternatives[stack];
      if (std::find(accepted.begin(), accepted.end(), best->first) != accepted.end()) continue;
      size_t at_want = counts.count(want) ? counts.at(want) : 0;
      if (best->second <= at_want) continue;
      LayoutChange change{stack, best->first, want, best->second, "", {}};
      for (const std::string& r : model.roots[stack]) change.roots.push_back(r);
      for (std::string_view name : names) {
        if (name.starts_with(change.from)) {
          change.example = std::string(name);
          break;
        }
      }
      out.layout.push_back(std::move(change));
    }
  }
  // Accepted alternative layouts (legacy names transformers converts on load) map like changes.
  std::vector<LayoutChange> mapping = out.layout;
  for (const auto& [stack, accepted] : model.alternatives) {
    for (const auto& a : accepted) {
      LayoutChange c{stack, a, model.prefixes[stack], 0, "", {}};
      for (const std::string& r : model.roots[stack]) c.roots.push_back(r);
      mapping.push_back(std::move(c));
    }
  }

  // Fused expert tensors (transformers v5 / some exporters: experts.gate_up_proj [E, ...],
  // experts.down_proj): their layer's per-expert tensors are not missing, and they are not
  // unexpected. Their shapes are not modeled (incomplete-experts checks their expert count).
  std::set<std::string, std::less<>> fused_experts;  // "....mlp.experts." prefixes
  for (size_t n = 0; n < names.size(); ++n) {
    const std::string_view name = names[n];
    // "<...>.experts.<param>": the segment before the last is "experts" (experts.E.x is not).
    const size_t last_dot = last_dots[n];
    if (last_dot == std::string_view::npos || !name.substr(0, last_dot).ends_with(".experts"))
      continue;
    std::string_view rest = name.substr(last_dot + 1);
    if (rest.starts_with("gate_up_proj") || rest.starts_with("down_proj") ||
        rest.starts_with("up_proj") || rest.starts_with("gate_proj"))
      fused_experts.emplace(apply_layout(std::string(name.substr(0, last_dot + 1)), mapping));
  }
  auto under_fused = [&](std::string_view name) {
    size_t at = name.find(".experts.");
    return at != std::string_view::npos && !fused_experts.empty() &&
           fused_experts.count(name.substr(0, at + 9)) > 0;
  };

  std::vector<char> found(expected.size(), 0);
  const int fallback_bits = logical_bits(config, nullptr);
  std::string_view last_direct_module;  // names are sorted: sidecars follow their weight
  std::string alt_lookup;
  for (size_t n = 0; n < names.size(); ++n) {
    std::string_view original = names[n];
    const TensorRef* ref = ck ? ck->tensor_refs()[n] : nullptr;
    std::string mapped_storage;
    std::string_view name = original;

    auto check_shape = [&](size_t idx, bool packed_name) {
      found[idx] = 1;
      if (!ref || !ref->info) return;
      const ExpectedTensor& e = expected[idx];
      const TensorInfo& t = *ref->info;
      const std::vector<uint64_t>& want = e.shape();
      if (t.shape == want && !packed_name) return;
      if (!t.dtype) return;  // an unknown dtype is invalid-header's finding
      // The module table's split (known parameter names) finds the module, only when needed.
      std::string_view table_module = split_tensor_name(name).first;
      const Module* mod = ck->modules().find(
          original.substr(0, original.size() - name.size() + table_module.size()));
      bool quantized_storage =
          packed_name || (mod && mod->is_quantized()) || !is_float_dtype(*t.dtype);
      // Embeddings and heads are packed too (MLX, some GGUF-derived exports): any matrix.
      if ((e.linear || want.size() >= 2) && quantized_storage) {
        int bits = mod && mod->group ? logical_bits(config, mod->group) : fallback_bits;
        if (bits == 8 && dtype_bits(*t.dtype) == 8 && t.shape == want) return;
        if (packed_shape_fits(t, want, bits)) return;
        // bitsandbytes 4-bit: the flattened weight's codes, [ceil(n/2), 1] (Params4bit).
        const WeightFormatTraits* traits = mod && mod->group ? format_traits(mod->group->format)
                                                             : nullptr;
        if (traits && traits->packing == WeightPacking::kFlatNibbles && t.shape.size() == 2 &&
            t.shape[1] == 1) {
          uint64_t elements = 1;
          for (uint64_t d : want) elements = checked_mul(elements, d).value_or(0);
          if (elements > 0 && t.shape[0] == elements / 2 + elements % 2) return;
        }
        out.shapes.push_back({std::string(original), t.shape.vector(), want, e.size_names(), true});
        return;
      }
      out.shapes.push_back({std::string(original), t.shape.vector(), want, e.size_names(), false});
    };

    // GPTQ / AWQ store a linear's weight as `qweight`, int32 codes packed along the input (GPTQ,
    // [in*bits/32, out]) or the output (AWQ GEMM, [in, out*bits/32]): the format table's
    // logical_matrix recovers [out, in] (GPTQModel nn_modules/qlinear/__init__.py, AutoAWQ
    // modules/linear/gemm.py).
    auto check_qweight = [&](size_t idx) {
      found[idx] = 1;
      if (!ref || !ref->info || !ref->info->dtype) return;
      const ExpectedTensor& e = expected[idx];
      const TensorInfo& t = *ref->info;
      const std::vector<uint64_t>& want = e.shape();
      const Module* mod = ck->modules().find(original.substr(0, last_dots[n]));
      const WeightFormatTraits* traits =
          mod && mod->group ? format_traits(mod->group->format) : nullptr;
      int bits = mod && mod->group ? logical_bits(config, mod->group) : 0;
      if (!traits || bits == 0 || want.size() != 2) return;  // packing unknown: not judged
      std::optional<LogicalMatrix> logical =
          t.shape.size() == 2 ? logical_matrix(*traits, *t.dtype, bits, t.shape[0], t.shape[1])
                              : std::nullopt;
      if (logical && logical->out == want[0] && (logical->in == 0 || logical->in == want[1]))
        return;
      out.shapes.push_back({std::string(original), t.shape.vector(), want, e.size_names(), true});
    };
    if (direct[n] == kNone && original.ends_with(".qweight")) {
      std::string weight = mapping.empty() ? std::string(original)
                                           : apply_layout(std::string(original), mapping);
      weight.replace(weight.size() - 8, 8, ".weight");
      uint32_t hit = by_name.find(weight);
      if (hit != kNone) {
        check_qweight(hit);
        last_direct_module = original.substr(0, last_dots[n]);
        continue;
      }
    }

    // compressed-tensors sparse-24-bitmask stores a linear's weight as `compressed`, the two
    // kept values of every four: [out, in/2] (0.14.0.1 sparse_24_bitmask.py); its bitmask and
    // shape are sidecars.
    if (direct[n] == kNone && original.ends_with(".compressed")) {
      std::string weight = mapping.empty() ? std::string(original)
                                           : apply_layout(std::string(original), mapping);
      weight.replace(weight.size() - 11, 11, ".weight");
      uint32_t hit = by_name.find(weight);
      if (hit != kNone) {
        found[hit] = 1;
        const ExpectedTensor& e = expected[hit];
        const std::vector<uint64_t>& want = e.shape();
        if (ref && ref->info && want.size() == 2 &&
            ref->info->shape != std::vector<uint64_t>{want[0], want[1] / 2})
          out.shapes.push_back(
              {std::string(original), ref->info->shape.vector(), want, e.size_names(), true});
        last_direct_module = original.substr(0, last_dots[n]);
        continue;
      }
    }

    if (direct[n] != kNone) {
      check_shape(direct[n], original.size() != expected[direct[n]].name.size());
      last_direct_module = original.substr(0, last_dots[n]);
      continue;
    }
    // The commonest name that is not expected itself: a scale or other sidecar right after its
    // module's weight (names are sorted).
    if (size_t dot = last_dots[n]; dot != std::string_view::npos && !last_direct_module.empty() &&
                                   original.substr(0, dot) == last_direct_module &&
                                   is_sidecar_param(original.substr(dot + 1), last_direct_module))
      continue;
    // apply_layout changes only names under one of the mapping's prefixes: the others (nearly
    // all, in a checkpoint with the expected layout) skip the copy.
    if (std::any_of(mapping.begin(), mapping.end(),
                    [&](const LayoutChange& c) { return original.starts_with(c.from); })) {
      mapped_storage = apply_layout(std::string(original), mapping);
      name = mapped_storage;
    }
    size_t last_dot = name.rfind('.');
    std::string_view module =
        last_dot == std::string_view::npos ? std::string_view() : name.substr(0, last_dot);
    std::string_view param = last_dot == std::string_view::npos ? name : name.substr(last_dot + 1);
    // Two-segment parameters (older Quark exports: x.weight_quantizer.scale) belong to x.
    if (auto [owner, two] = split_tensor_name(name); two.find('.') != std::string_view::npos)
      module = owner, param = two;
    if (name.size() != original.size() || name != original) {
      std::string_view lookup = name;
      bool packed = lookup.ends_with("_packed");
      if (packed) lookup.remove_suffix(7);
      uint32_t hit = by_name.find(lookup);
      if (hit != kNone) {
        check_shape(hit, packed);
        continue;
      }
    }
    if (!model.alternative_names.empty()) {
      alt_lookup.assign(name);  // reuses its capacity: no allocation per name
      auto alt = model.alternative_names.find(alt_lookup);
      if (alt != model.alternative_names.end()) {
        found[alt->second] = 1;
        continue;
      }
    }
    // Sidecars of an expected module, KV-cache scales, bitsandbytes' weight.* states.
    bool explained = false;
    if (!module.empty()) {
      bool module_expected =
          (name == original && module == last_direct_module) ||
          by_name.contains(std::string(module) + ".weight");
      if (module_expected && is_sidecar_param(param, module)) explained = true;
      if (!explained && role_of_param(param, module) == TensorRole::kKvScale) explained = true;
      if (!explained) {
        // bitsandbytes: X.weight.absmax, X.weight.quant_state.bitsandbytes__nf4
        size_t w_at = name.find(".weight.");
        if (w_at != std::string_view::npos && by_name.contains(name.substr(0, w_at + 7)))
          explained = true;
      }
      // gpt-oss MXFP4 and fused-expert sidecars of an expected tensor: X_scales next to X_blocks.
      if (!explained && (param.ends_with("_scales") || param.ends_with("_scale"))) {
        std::string_view stem = param.substr(0, param.rfind('_'));
        std::string base = std::string(module) + "." + std::string(stem);
        if (by_name.contains(base) || model.alternative_names.count(base + "_blocks"))
          explained = true;
      }
    }
    if (!explained && under_fused(name)) explained = true;
    if (!explained) {
      for (const auto& s : model.ignore_suffixes) explained = explained || name.ends_with(s);
      for (const auto& p : model.opaque_prefixes) explained = explained || name.starts_with(p);
    }
    if (!explained) out.unexpected.push_back(std::string(original));
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!found[i] && !is_optional(expected[i]) && !under_fused(expected[i].name))
      out.missing.push_back(i);
  }
}

}  // namespace

// The first half of a diff: the class, its family and the tensors it defines, with their name
// index. Needs only the configs and the scheme.
class ArchitectureModel {
 public:
  ArchitectureDiff head;  // status, class, family, reason; the diff starts from it
  Model model;
  std::optional<NameIndex> index;  // of model.expected
};

namespace {

// `families`: the family files to search, or nullptr for the builtin ones.
std::shared_ptr<ArchitectureModel> prepare_model(const json* config, const QuantScheme& scheme,
                                                 const std::vector<Family>* families,
                                                 bool with_index) {
  auto prepared = std::make_shared<ArchitectureModel>();
  ArchitectureDiff& out = prepared->head;
  if (!config || !config->is_object()) return prepared;
  auto arch = config->find("architectures");
  if (arch == config->end() || !arch->is_array() || arch->empty() || !(*arch)[0].is_string())
    return prepared;
  out.class_name = (*arch)[0].get<std::string>();
  out.status = ArchitectureDiff::Status::kUnknown;
  std::vector<const Family*> candidates;
  if (families) {
    for (const Family& f : *families) candidates.push_back(&f);
  } else {
    candidates = builtin_families_naming(out.class_name);
  }
  const Family* family = nullptr;
  for (const Family* f : candidates) {
    if (f->spec.contains("classes") && f->spec["classes"].contains(out.class_name)) family = f;
  }
  if (!family) {
    out.reason = fmt::format("no family file describes {}", out.class_name);
    return prepared;
  }
  out.family = family->spec.value("family", family->file);
  out.family_source = family->spec.value("source", std::string());
  try {
    prepared->model = build_model(family->spec, out.class_name, *config, scheme);
  } catch (const ModelError& e) {
    out.status = ArchitectureDiff::Status::kIncomplete;
    out.reason = e.what();
    return prepared;
  } catch (const json::exception& e) {
    out.status = ArchitectureDiff::Status::kIncomplete;
    out.reason = fmt::format("family file {}: {}", family->file, e.what());
    return prepared;
  }
  out.status = ArchitectureDiff::Status::kModeled;
  if (with_index) prepared->index.emplace(prepared->model.expected);
  return prepared;
}

// The second half: `prepared` (spent by it) against the names, or its expected tensors alone.
ArchitectureDiff diff_with(const Checkpoint* ck, const std::vector<std::string_view>* names,
                           const json* config, ArchitectureModel& prepared) {
  ArchitectureDiff out = std::move(prepared.head);
  if (!out.modeled()) return out;
  Model& model = prepared.model;
  if (names) {
    if (!prepared.index) prepared.index.emplace(model.expected);
    diff_model(*names, ck, config, model, *prepared.index, out);
  } else {
    out.expected = std::move(model.expected);
    out.expected_storage = std::move(model.storage);
    out.tensor_parallel = std::move(model.tensor_parallel);
  }
  return out;
}

}  // namespace

bool ArchitectureDiff::missing_in_stack(std::string_view stack) const {
  for (size_t i : missing)
    if (stack_of(expected[i]) == stack) return true;
  return false;
}

bool ArchitectureDiff::missing_with(std::string_view segment) const {
  for (size_t i : missing)
    if (expected[i].name.find(segment) != std::string::npos) return true;
  return false;
}

std::shared_ptr<ArchitectureModel> model_architecture(const nlohmann::json* config,
                                                      const QuantScheme& scheme) {
  return prepare_model(config, scheme, nullptr, true);
}

ArchitectureDiff diff_against_architecture(const Checkpoint& ck) {
  return diff_against_architecture(ck, model_architecture(ck.config(), ck.scheme()));
}

ArchitectureDiff diff_against_architecture(const Checkpoint& ck,
                                           std::shared_ptr<ArchitectureModel> model) {
  return diff_with(&ck, &ck.tensor_names(), ck.config(), *model);
}

ArchitectureDiff diff_names_against_architecture(const nlohmann::json& config,
                                                 const std::vector<std::string>& names) {
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string_view> views(sorted.begin(), sorted.end());
  QuantScheme scheme = parse_quant_scheme(&config, nullptr);
  ArchitectureDiff out =
      diff_with(nullptr, &views, &config, *prepare_model(&config, scheme, nullptr, true));
  // The views die with `sorted`; the diff holds copies only.
  return out;
}

ArchitectureDiff diff_against_architecture(
    const Checkpoint& ck, const std::vector<std::pair<std::string, std::string>>& family_files) {
  std::vector<Family> families;
  for (const auto& [name, text] : family_files) families.push_back({name, json::parse(text)});
  return diff_with(&ck, &ck.tensor_names(), ck.config(),
                   *prepare_model(ck.config(), ck.scheme(), &families, true));
}

ArchitectureDiff expected_tensors_for_config(const nlohmann::json& config) {
  QuantScheme scheme = parse_quant_scheme(&config, nullptr);
  return diff_with(nullptr, nullptr, &config,
                   *prepare_model(&config, scheme, nullptr, false));
}

std::vector<std::pair<std::string, std::vector<std::string>>> architecture_families() {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const Family* f : builtin_families()) {
    std::vector<std::string> classes;
    const json classes_spec = f->spec.value("classes", json::object());
    for (const auto& [name, _] : classes_spec.items()) classes.push_back(name);
    out.emplace_back(f->spec.value("family", f->file), std::move(classes));
  }
  return out;
}

std::string apply_layout(const std::string& name, const std::vector<LayoutChange>& layout) {
  // Longest `from` first, so nested prefixes map to the most specific change; only names whose
  // next segment is one of the stack's roots move.
  const LayoutChange* best = nullptr;
  for (const auto& c : layout) {
    if (!name.starts_with(c.from) || (best && c.from.size() <= best->from.size())) continue;
    std::string_view root = first_segment(std::string_view(name).substr(c.from.size()));
    if (!std::binary_search(c.roots.begin(), c.roots.end(), root, std::less<>())) continue;
    best = &c;
  }
  if (!best) return name;
  return best->to + name.substr(best->from.size());
}

}  // namespace ckd
