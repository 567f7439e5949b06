#!/usr/bin/env bash
# End-to-end checks of the ckptdoctor command line: exit codes, machine output, selection,
# colour, and that the bundled demo matches its spec. Usage: cli_test.sh CKPTDOCTOR FIXTURE_TOOL
set -u
bin=$1
fixture_tool=$2
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/check_helpers.sh

"$fixture_tool" build fixtures/specs/base-fp8-block.json "$tmp/healthy" || fail "building the healthy fixture"
"$fixture_tool" build fixtures/specs/index-total-size.json "$tmp/warn-only" || fail "building the warning fixture"

# Exit codes: 0 clean, 1 findings at or above --fail-on, 2 the tool could not run.
expect_rc 1 "demo has errors" -- "$bin" scan fixtures/demo
contains "$tmp/out" "key-layout-mismatch" "demo text report"
contains "$tmp/out" "vllm fails: KeyError: 'language_model.language_model.embed_tokens.weight'" "demo: vLLM's KeyError"
contains "$tmp/out" "dtype bytes" "demo histogram"
expect_rc 0 "healthy checkpoint" -- "$bin" scan "$tmp/healthy"
contains "$tmp/out" "0 errors, 0 warnings" "healthy summary"
expect_rc 0 "--fail-on never" -- "$bin" scan --fail-on never fixtures/demo
expect_rc 0 "warnings pass the default gate" -- "$bin" scan "$tmp/warn-only"
expect_rc 1 "--fail-on warning" -- "$bin" scan --fail-on warning "$tmp/warn-only"
expect_rc 2 "missing directory" -- "$bin" scan "$tmp/does-not-exist"
contains "$tmp/err" "no such file or directory" "missing directory message"
if [ -s "$tmp/out" ]; then fail "missing directory printed to stdout"; else ok; fi
expect_rc 2 "unknown option" -- "$bin" scan --no-such-flag fixtures/demo
expect_rc 2 "no subcommand" -- "$bin"
expect_rc 2 "unknown rule" -- "$bin" scan --select repeated-prefixx fixtures/demo
contains "$tmp/err" "did you mean repeated-prefix?" "did-you-mean"
expect_rc 2 "unknown engine" -- "$bin" scan --engine vllm,sglng fixtures/demo
contains "$tmp/err" "did you mean sglang?" "--engine typo suggests the engine"
expect_rc 1 "one engine line" -- "$bin" scan --engine transformers fixtures/demo
contains "$tmp/out" "transformers " "--engine transformers prints its verdict line"
lacks "$tmp/out" "vllm " "--engine transformers prints no other engine"
expect_rc 0 "--version" -- "$bin" --version
contains "$tmp/out" "ckptdoctor 0.1.0" "version"

# Machine output: one JSON document on stdout, nothing else.
expect_rc 1 "json demo" -- "$bin" scan --format json fixtures/demo
valid_json "$tmp/out" "json demo"
python3 - "$tmp/out" <<'PY' && ok || fail "json schema"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1
assert set(d) >= {"findings", "truncated", "not_run", "dtype_bytes", "summary", "checkpoint"}
for f in d["findings"]:
    assert set(f) == {"code", "name", "severity", "file", "tensor", "message"}, f
    assert f["severity"] in ("error", "warning", "info")
s = d["summary"]
assert s["errors"] == sum(f["severity"] == "error" for f in d["findings"]) + sum(
    t["omitted"] for t in d["truncated"] if t["severity"] == "error")
assert s["failed"] is True and s["fail_on"] == "error"
assert abs(sum(v["share"] for v in d["dtype_bytes"]["checkpoint"].values()) - 1) < 1e-9
PY

# Selection by name, code, code prefix and family.
expect_rc 1 "select by name" -- "$bin" scan --format json --select key-layout-mismatch fixtures/demo
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {f["name"] for f in d["findings"]} == {"key-layout-mismatch"}' "$tmp/out" && ok || fail "select by name"
expect_rc 0 "ignore families and codes" -- "$bin" scan --ignore quantization,architecture --ignore CKD5 fixtures/demo
contains "$tmp/out" "index-total-size" "ignored all but one"
lacks "$tmp/out" "key-layout-mismatch" "ignored architecture family"
lacks "$tmp/out" "scale-out-of-range" "ignored code prefix"
expect_rc 1 "select by code prefix" -- "$bin" scan -q --select CKD50 fixtures/demo
contains "$tmp/out" "scale-out-of-range" "code prefix"

# Quiet output and colour.
expect_rc 1 "quiet" -- "$bin" scan -q fixtures/demo
lacks "$tmp/out" "dtype bytes" "quiet output"
expect_rc 1 "no colour off a TTY" -- "$bin" scan fixtures/demo
if grep -q $'\033\[' "$tmp/out"; then fail "colour off a TTY"; else ok; fi
expect_rc 1 "--color always" -- "$bin" scan --color always fixtures/demo
if grep -q $'\033\[' "$tmp/out"; then ok; else fail "--color always printed no colour"; fi
expect_rc 1 "FORCE_COLOR" -- env FORCE_COLOR=1 "$bin" scan fixtures/demo
if grep -q $'\033\[' "$tmp/out"; then ok; else fail "FORCE_COLOR printed no colour"; fi
expect_rc 1 "NO_COLOR wins" -- env NO_COLOR=1 FORCE_COLOR=1 "$bin" scan fixtures/demo
if grep -q $'\033\[' "$tmp/out"; then fail "NO_COLOR ignored"; else ok; fi

# Control characters from a hostile tensor name are escaped in text output.
python3 - "$tmp/forged" <<'PY'
import json, os, struct, sys
os.makedirs(sys.argv[1], exist_ok=True)
header = json.dumps({"m.w\nerror fake-rule (CKD999) x1\x1b[31m.weight": {"dtype": "F8_E4M3", "shape": [2, 2], "data_offsets": [0, 4]}}).encode()
header += b" " * (-len(header) % 8)
open(os.path.join(sys.argv[1], "model.safetensors"), "wb").write(struct.pack("<Q", len(header)) + header + b"\0" * 4)
PY
expect_rc 1 "hostile name" -- "$bin" scan -q "$tmp/forged"
contains "$tmp/out" 'm.w\x0aerror fake-rule' "control characters escaped"
if grep -q $'\033' "$tmp/out" || grep -q '^error fake-rule' "$tmp/out"; then fail "a tensor name forged output"; else ok; fi

# Rules listing and docs.
expect_rc 0 "rules" -- "$bin" rules
contains "$tmp/out" "CKD101  invalid-header" "rules list"
expect_rc 0 "rules NAME" -- "$bin" rules false-quantization
contains "$tmp/out" "Why is this bad?" "rule docs"
# An installed binary (a wheel) has no source tree: a built-in rule names no rules/ path.
contains "$tmp/out" "Defined in: the built-in rules (quantization.json)" "rule origin"
lacks "$tmp/out" "rules/" "rule origin names no source path"
expect_rc 0 "rules by code" -- "$bin" rules CKD402
contains "$tmp/out" "repeated-prefix" "rule by code"
expect_rc 2 "unknown rule docs" -- "$bin" rules no-such-rule
expect_rc 0 "rules json" -- "$bin" rules --format json
valid_json "$tmp/out" "rules json"

# Extra rules from a file: a stricter copy of a check, and a malformed file.
cat >"$tmp/extra.json" <<'JSON'
{"rules": [{"code": "CKD799", "name": "strict-total-size", "check": "index-total-size", "severity": "error",
            "docs": {"summary": "total_size must match exactly (site policy)."}}]}
JSON
expect_rc 1 "--rules adds a rule" -- "$bin" scan --rules "$tmp/extra.json" --select strict-total-size "$tmp/warn-only"
contains "$tmp/out" "strict-total-size" "extra rule fired"
echo '{"rules": [{"code": "XYZ", "name": "bad"}]}' >"$tmp/bad.json"
expect_rc 2 "malformed rules file" -- "$bin" scan --rules "$tmp/bad.json" fixtures/demo

# The README's rule tour lists every rule.
"$bin" rules --format json >"$tmp/rules.json"
python3 - "$tmp/rules.json" README.md <<'PY' && ok || fail "README rule tour is missing rules"
import json, sys
readme = open(sys.argv[2]).read()
missing = [r["name"] for r in json.load(open(sys.argv[1])) if f"`{r['name']}`" not in readme]
assert not missing, missing
PY

# CI formats: same exit codes, --output-file, the GitHub step summary, and the consumers' readers.
for f in sarif junit github gitlab; do
  expect_rc 1 "--format $f on the demo" -- "$bin" scan --format "$f" --output-file "$tmp/demo.$f" fixtures/demo
  if [ -s "$tmp/out" ]; then fail "--output-file $f also printed to stdout"; else ok; fi
  expect_rc 0 "--format $f on a healthy checkpoint" -- "$bin" scan --format "$f" "$tmp/healthy"
done
valid_json "$tmp/demo.sarif" "sarif"
valid_json "$tmp/demo.gitlab" "gitlab"
GITHUB_STEP_SUMMARY="$tmp/summary.md" "$bin" scan --format github fixtures/demo >"$tmp/gh.out"
contains "$tmp/summary.md" "| severity | rule | file | tensor | message |" "github step summary table"
contains "$tmp/gh.out" "::error file=fixtures/demo/" "github annotations"
expect_rc 2 "--output-file in a missing directory" -- "$bin" scan --output-file "$tmp/no/such/file" fixtures/demo
if [ -x .venv/bin/python ]; then
  if .venv/bin/python tests/report_formats_check.py "$tmp/demo.sarif" "$tmp/demo.junit" "$tmp/demo.gitlab" "$tmp/demo.github" >"$tmp/formats" 2>&1; then ok; else fail "CI formats rejected by their readers"; sed 's/^/  | /' "$tmp/formats" | tail -5; fi
else
  echo "cli: .venv missing (scripts/setup-venv.sh): skipping the SARIF/JUnit readers"
fi

# Project settings: DIR/ckptdoctor.json applies, the command line wins, typos are errors.
cp -r "$tmp/warn-only" "$tmp/configured"
echo '{"fail_on": "warning"}' >"$tmp/configured/ckptdoctor.json"
expect_rc 1 "ckptdoctor.json fail_on warning" -- "$bin" scan "$tmp/configured"
expect_rc 0 "--fail-on on the command line wins" -- "$bin" scan --fail-on error "$tmp/configured"
expect_rc 0 "--no-config" -- "$bin" scan --no-config "$tmp/configured"
echo '{"severity": {"index-total-size": "info"}, "fail_on": "warning"}' >"$tmp/configured/ckptdoctor.json"
expect_rc 0 "severity override" -- "$bin" scan "$tmp/configured"
echo '{"fail_onn": "warning"}' >"$tmp/configured/ckptdoctor.json"
expect_rc 2 "unknown config key" -- "$bin" scan "$tmp/configured"
contains "$tmp/err" "did you mean \"fail_on\"" "config key suggestion"
echo '{"fail_on": "warning"}' >"$tmp/strict.json"
expect_rc 1 "--config FILE" -- "$bin" scan --config "$tmp/strict.json" "$tmp/warn-only"
expect_rc 1 "-s prints nothing" -- "$bin" scan -s fixtures/demo
if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then fail "-s printed something"; else ok; fi

# Completions and the man page come from the same definitions as --help.
expect_rc 0 "bash completion" -- "$bin" completions bash
if bash -n "$tmp/out"; then ok; else fail "bash completion has a syntax error"; fi
got=$(bash -c 'source "$1"; COMP_WORDS=(ckptdoctor scan --fo); COMP_CWORD=2; _ckptdoctor; echo "${COMPREPLY[@]}"' _ "$tmp/out")
if [ "$got" = "--format" ]; then ok; else fail "bash completes --fo to '$got'"; fi
got=$(bash -c 'source "$1"; COMP_WORDS=(ckptdoctor scan --format s); COMP_CWORD=3; _ckptdoctor; echo "${COMPREPLY[@]}"' _ "$tmp/out")
if [ "$got" = "sarif" ]; then ok; else fail "bash completes --format s to '$got'"; fi
expect_rc 0 "zsh completion" -- "$bin" completions zsh
contains "$tmp/out" "bashcompinit" "zsh completion"
expect_rc 0 "fish completion" -- "$bin" completions fish
contains "$tmp/out" "__fish_seen_subcommand_from fix" "fish completion"
expect_rc 2 "unknown shell" -- "$bin" completions tcsh
expect_rc 0 "man page" -- "$bin" man
contains "$tmp/out" ".TH CKPTDOCTOR 1" "man header"
sed 's/\\-/-/g' "$tmp/out" >"$tmp/man.txt"
for option in output-file fail-on select ignore source config deep strip-prefix inject-input-scale in-place dry-run; do
  contains "$tmp/man.txt" "--$option" "man page lists --$option"
done

# fix: usage errors, --dry-run exit codes, the demo repaired as far as it can be.
expect_rc 2 "fix without a fix" -- "$bin" fix "$tmp/healthy" -o "$tmp/never"
contains "$tmp/err" "--apply-safe" "fix without a fix names --apply-safe"
expect_rc 2 "fix without a target" -- "$bin" fix "$tmp/healthy" --apply-safe
expect_rc 2 "-o with --in-place" -- "$bin" fix "$tmp/healthy" --apply-safe -o "$tmp/never" --in-place
expect_rc 2 "--rename without =" -- "$bin" fix "$tmp/healthy" --rename abc -o "$tmp/never"
expect_rc 2 "--inject-input-scale not a number" -- "$bin" fix "$tmp/healthy" --inject-input-scale abc -o "$tmp/never"
if [ -e "$tmp/never" ]; then fail "a refused fix created its output"; else ok; fi
expect_rc 0 "dry run: nothing to change" -- "$bin" fix "$tmp/healthy" --apply-safe --dry-run
contains "$tmp/out" "nothing to change" "dry run on a healthy checkpoint"
expect_rc 1 "dry run: changes" -- "$bin" fix fixtures/demo --apply-safe --dry-run
contains "$tmp/out" "strip-prefix auto" "dry run lists the fix"
contains "$tmp/out" " -> model.layers." "dry run shows an example"
expect_rc 1 "demo fix: written, unfixable errors remain" -- "$bin" fix fixtures/demo --apply-safe -o "$tmp/demo-fixed"
contains "$tmp/out" "verified byte for byte" "fix reports verification"
contains "$tmp/out" "re-scan of" "fix re-scans its output"
lacks "$tmp/out" "key-layout-mismatch (CKD804)" "the re-scan no longer finds the repaired rule"
contains "$tmp/out" "the layout Qwen3MoeForCausalLM expects" "the fix takes the class's layout, no --source"
expect_rc 1 "the repaired demo still has its unfixable errors" -- "$bin" scan "$tmp/demo-fixed"
lacks "$tmp/out" "key-layout-mismatch" "repaired demo: layout right"
lacks "$tmp/out" "index-total-size" "repaired demo: index regenerated"
contains "$tmp/out" "vllm fails: ValueError: There is no module or parameter named 'lm_head.input_scale' in Qwen3MoeForCausalLM" "repaired demo: vLLM fails on the quantized lm_head"
contains "$tmp/out" "transformers fails: RuntimeError: You set \`ignore_mismatched_sizes\` to \`False\`" "repaired demo: transformers builds it unquantized"
"$fixture_tool" build fixtures/demo.spec.json "$tmp/demo-again"
if diff -r "$tmp/demo-again" fixtures/demo >/dev/null; then ok; else fail "fix modified its input"; fi
expect_rc 1 "fix --format json dry run" -- "$bin" fix fixtures/demo --apply-safe --dry-run --format json
valid_json "$tmp/out" "fix json dry run"
expect_rc 1 "fix --format json" -- "$bin" fix fixtures/demo --apply-safe --format json -o "$tmp/demo-fixed-json"
valid_json "$tmp/out" "fix json"
python3 - "$tmp/out" <<'PY' && ok || fail "fix json schema"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and d["mode"] == "output" and d["changes"]
assert d["fixes"][0]["fix"].startswith("strip-prefix") and d["fixes"][0]["count"] == 134
assert d["written"]["files_rewritten"] == 2
assert d["rescan"]["errors"] > 0 and not any(f["name"] == "key-layout-mismatch" for f in d["rescan"]["findings"])
PY
expect_rc 2 "fix into a non-empty directory" -- "$bin" fix fixtures/demo --apply-safe -o "$tmp/demo-fixed"
contains "$tmp/err" "--force" "non-empty output names --force"

# The fix output read back by the reference implementation (safetensors), when the venv exists.
cp fixtures/specs/base-fp8-block.json "$tmp/"
cat >"$tmp/prefixed.json" <<'JSON'
{"base": "base-fp8-block",
 "rename": [["^model\\.", "model.language_model.language_model.language_model."]]}
JSON
"$fixture_tool" build "$tmp/prefixed.json" "$tmp/prefixed" || fail "building the prefixed fixture"
expect_rc 0 "strip a prefix" -- "$bin" fix "$tmp/prefixed" --strip-prefix language_model.language_model. -o "$tmp/stripped"
if [ -x .venv/bin/python ]; then
  if .venv/bin/python tests/fix_oracle.py "$tmp/prefixed" "$tmp/stripped" language_model.language_model. >"$tmp/oracle" 2>&1; then ok; else fail "fix oracle"; sed 's/^/  | /' "$tmp/oracle" | tail -5; fi
else
  echo "cli: .venv missing (scripts/setup-venv.sh): skipping the safetensors oracle of fix"
fi

# The GitHub action's scan step and the pre-commit entry point, run as the action / hook run them.
grep -q 'run: "$GITHUB_ACTION_PATH/scripts/action-scan.sh"' action.yml && ok || fail "action.yml does not run scripts/action-scan.sh"
for input in path fail-on source sarif-file args; do
  grep -q "\${{ inputs.$input }}" action.yml && ok || fail "action.yml does not pass input $input"
done
expect_rc 1 "action on the demo" -- env CKPTDOCTOR="$bin" CKD_PATH=fixtures/demo CKD_SARIF="$tmp/action.sarif" GITHUB_STEP_SUMMARY="$tmp/action.md" scripts/action-scan.sh
contains "$tmp/out" "::error file=fixtures/demo/" "action annotations"
valid_json "$tmp/action.sarif" "action sarif"
contains "$tmp/action.md" "| severity |" "action step summary"
expect_rc 0 "action on a healthy checkpoint" -- env CKPTDOCTOR="$bin" CKD_PATH="$tmp/healthy" scripts/action-scan.sh
expect_rc 1 "action fail-on warning" -- env CKPTDOCTOR="$bin" CKD_PATH="$tmp/warn-only" CKD_FAIL_ON=warning scripts/action-scan.sh
expect_rc 0 "action extra args" -- env CKPTDOCTOR="$bin" CKD_PATH=fixtures/demo CKD_ARGS="--select index-total-size" scripts/action-scan.sh
hook() { env PATH="$(dirname "$bin"):$PATH" PYTHONPATH=python python3 -m ckptdoctor.pre_commit "$@"; }
expect_rc 1 "pre-commit hook on demo files" -- hook fixtures/demo/model-00001-of-00002.safetensors fixtures/demo/config.json
expect_rc 0 "pre-commit hook on healthy files" -- hook "$tmp/healthy/config.json"
expect_rc 1 "pre-commit hook passes options" -- hook --fail-on warning "$tmp/warn-only/config.json"
mkdir -p "$tmp/not-a-checkpoint" && echo '{}' >"$tmp/not-a-checkpoint/config.json"
expect_rc 0 "pre-commit hook skips a config.json without shards" -- hook "$tmp/not-a-checkpoint/config.json"
expect_rc 1 "python -m ckptdoctor" -- env PATH="$(dirname "$bin"):$PATH" PYTHONPATH=python python3 -m ckptdoctor scan fixtures/demo

# The bundled demo is exactly what its spec generates.
"$fixture_tool" build fixtures/demo.spec.json "$tmp/demo"
if diff -r "$tmp/demo" fixtures/demo >/dev/null; then ok; else fail "fixtures/demo is stale: regenerate it from fixtures/demo.spec.json"; fi

# compare: exit codes, the JSON document, the HTML page.
cmp=fixtures/compare
expect_rc 0 "compare healthy" -- "$bin" compare "$cmp/ct-nvfp4" --source "$cmp/source"
contains "$tmp/out" "0 of 28 modules over their limit" "compare summary"
expect_rc 1 "compare broken" -- "$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" --format json --html "$tmp/compare.html"
python3 - "$tmp/out" <<'PY' && ok || fail "compare json"
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["tensors"]:
    assert {"module", "format", "rel_error", "max_abs_error", "passed"} <= set(t), t
assert [t["passed"] for t in d["tensors"]][:3] == [False, False, True]
assert d["summary"]["failed"] == 2 and d["summary"]["formats"]["nvfp4"]["failed"] == 2
assert d["unpaired"] == []
PY
contains "$tmp/compare.html" "<svg" "compare html"
contains "$tmp/compare.html" "model.layers.0.self_attn.q_proj" "compare html failure table"
# Self-contained: its one script is inline, nothing is fetched.
if grep -q "src=\|href=\|<link\|@import\|url(" "$tmp/compare.html"; then fail "compare html is not self-contained"; else ok; fi
expect_rc 0 "compare lists unpaired" -- "$bin" compare "$cmp/fp8-block" --source "$cmp/source" --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["unpaired"][0]["module"] == "model.layers.0.self_attn.k_proj"' "$tmp/out" && ok || fail "compare unpaired"
echo '{"params": {"roundtrip-error": {"max_rel_error": {"nvfp4": 0.05}}}}' >"$tmp/strict.json"
expect_rc 1 "compare limits from ckptdoctor.json" -- "$bin" compare "$cmp/ct-nvfp4" --source "$cmp/source" --config "$tmp/strict.json"
contains "$tmp/out" "28 of 28 modules over their limit" "compare strict limit"
expect_rc 2 "compare without a source" -- "$bin" compare "$cmp/ct-nvfp4"
expect_rc 2 "compare of an unquantized checkpoint" -- "$bin" compare "$cmp/source" --source "$cmp/source"
contains "$tmp/err" "nothing to dequantize" "compare unquantized message"
expect_rc 2 "compare remote" -- "$bin" compare hf://org/x --source "$cmp/source"
# A shard one byte short: the module it cuts is not decoded, and the gate fails (exit 1).
cp -r "$cmp/ct-nvfp4-sharded" "$tmp/cut" && truncate -s -1 "$tmp/cut/model-00003-of-00003.safetensors"
expect_rc 1 "compare of a truncated shard" -- "$bin" compare "$tmp/cut" --source "$cmp/source-sharded"
contains "$tmp/out" "not decoded: FAIL" "compare truncated verdict"
expect_rc 0 "compare of the sharded original" -- "$bin" compare "$cmp/ct-nvfp4-sharded" --source "$cmp/source-sharded"

# Issue 10: no weights fails; counts and plurals; unknown commands; -s; wrapping; the hook's options.
mkdir -p "$tmp/empty"
expect_rc 1 "empty directory has no weights" -- "$bin" scan "$tmp/empty"
contains "$tmp/out" "no-weights (CKD111) x1" "empty directory finding"
contains "$tmp/out" "0 files, 0 tensors" "empty directory header"
contains "$tmp/out" "1 error, 0 warnings" "singular error count"
"$fixture_tool" build fixtures/specs/no-weights-config-only.json "$tmp/config-only" || fail "building config-only"
expect_rc 1 "a config.json that declares fp8 and no weights" -- "$bin" scan "$tmp/config-only"
contains "$tmp/out" "no .safetensors file" "config-only finding"
expect_rc 0 "healthy checkpoint has weights" -- "$bin" scan "$tmp/healthy"
lacks "$tmp/out" "no-weights" "no-weights control"
contains "$tmp/out" "2 files, " "plural file count"
"$fixture_tool" build fixtures/specs/base-bf16.json "$tmp/one-file" || fail "building base-bf16"
expect_rc 0 "one-file checkpoint" -- "$bin" scan "$tmp/one-file"
contains "$tmp/out" "  1 file, " "singular file count"
expect_rc 2 "unknown command" -- "$bin" frobnicate
contains "$tmp/err" "unknown command frobnicate" "unknown command named"
lacks "$tmp/err" "A subcommand is required" "unknown command is not a missing one"
expect_rc 2 "misspelt command" -- "$bin" scna fixtures/demo
contains "$tmp/err" "(did you mean scan?)" "nearest command"
expect_rc 2 "-s prints nothing, errors included" -- "$bin" scan -s "$tmp/does-not-exist"
if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then fail "-s printed something"; else ok; fi
expect_rc 2 "-s on a usage error" -- "$bin" scan -s --threads many fixtures/demo
if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then fail "-s printed a usage error"; else ok; fi
expect_rc 2 "usage error control" -- "$bin" scan --threads many fixtures/demo
contains "$tmp/err" "--threads" "usage error printed without -s"
expect_rc 1 "-s on findings" -- "$bin" scan -s fixtures/demo
if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then fail "-s printed findings"; else ok; fi
if command -v script >/dev/null; then
  # On a terminal (script gives one) lines wrap at COLUMNS, continuation lines indented.
  COLUMNS=70 script -qec "$bin scan --color never fixtures/demo" /dev/null >"$tmp/tty" 2>&1
  python3 - "$tmp/tty" <<'PY' && ok || fail "terminal output wraps at COLUMNS"
import sys
lines = [l.rstrip("\r") for l in open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n")]
lines = lines[:next(i for i, l in enumerate(lines) if l.startswith("dtype bytes"))]  # findings
# Only a single word longer than the terminal (a long tensor name) may overflow it.
assert all(len(l) <= 70 or " " not in l.strip() for l in lines), max(lines, key=len)
assert any(l.startswith("      ") and l.strip() for l in lines)  # continuation lines
PY
else
  echo "cli: no script(1): skipping the terminal-width check"
fi
expect_rc 1 "piped output is not wrapped" -- env COLUMNS=70 "$bin" scan --color never fixtures/demo
python3 -c 'import sys; assert max(map(len, open(sys.argv[1]).read().splitlines())) > 70' "$tmp/out" && ok || fail "piped output wrapped"
expect_rc 0 "pre-commit hook --timeout 60" -- hook --timeout 60 "$tmp/healthy/config.json"
expect_rc 0 "pre-commit hook --retries 1" -- hook --retries 1 "$tmp/healthy/config.json"
expect_rc 1 "pre-commit hook --select with two values" -- hook --select CKD2 CKD8 fixtures/demo/config.json
expect_rc 0 "pre-commit hook --select control" -- hook --select CKD2 fixtures/demo/config.json
"$bin" scan --help >"$tmp/scan-help"
PYTHONPATH=python python3 - "$tmp/scan-help" <<'PY' && ok || fail "pre-commit hook's options differ from scan --help"
import re, sys
from ckptdoctor.pre_commit import MULTI_VALUE, TAKES_VALUE
help_text = open(sys.argv[1]).read()
with_value = set(re.findall(r"^\s+(?:-\w,)?(--[\w-]+) [A-Z]{2,}\b", help_text, re.M))
several = set(re.findall(r"^\s+(?:-\w,)?(--[\w-]+) [A-Z]{2,} \.\.\.", help_text, re.M))
assert with_value == TAKES_VALUE, (with_value ^ TAKES_VALUE)
assert MULTI_VALUE <= several, MULTI_VALUE - several
PY
# Counts are findings: 32 negative scales, 25 listed; the CI formats read by their consumers.
cp fixtures/specs/base-fp8-block.json "$tmp/"
echo '{"base": "base-fp8-block", "set": {"model\\.layers\\..*weight_scale_inv": {"fill": -0.0003}}}' >"$tmp/bad-scales.json"
"$fixture_tool" build "$tmp/bad-scales.json" "$tmp/bad-scales" || fail "building bad-scales"
expect_rc 1 "32 bad scales" -- "$bin" scan "$tmp/bad-scales"
contains "$tmp/out" "non-positive-scale (CKD503) x32" "per-rule count includes the unlisted"
contains "$tmp/out" "32 errors, 0 warnings" "summary counts findings, not lines"
if [ -x .venv/bin/python ]; then
  for f in sarif junit gitlab github; do (cd "$tmp" && "$bin" scan --format $f bad-scales >"bad.$f"); done
  if .venv/bin/python tests/report_formats_check.py "$tmp/bad.sarif" "$tmp/bad.junit" "$tmp/bad.gitlab" "$tmp/bad.github" >"$tmp/formats" 2>&1; then ok; else fail "truncated CI formats rejected by their readers"; sed 's/^/  | /' "$tmp/formats" | tail -5; fi
fi

# Issue 14: one rule set from settings for every command. fix --apply-safe and its re-scan follow
# DIR's ckptdoctor.json (they used the built-in rules whatever it said).
cp -r fixtures/demo "$tmp/demo-keys"
expect_rc 1 "fix without settings: unfixable errors remain" -- "$bin" fix "$tmp/demo-keys" --apply-safe -o "$tmp/demo-keys-plain"
echo '{"select": ["architecture"]}' >"$tmp/demo-keys/ckptdoctor.json"
expect_rc 0 "fix --apply-safe with select architecture: the re-scan runs the project's rules" -- "$bin" fix "$tmp/demo-keys" --apply-safe -o "$tmp/demo-keys-fixed"
contains "$tmp/out" "strip-prefix auto" "fix applied the architecture family's safe fix"
contains "$tmp/out" "re-scan of $tmp/demo-keys-fixed: clean" "re-scan clean under the project's selection"
echo '{"ignore": ["architecture"]}' >"$tmp/demo-keys/ckptdoctor.json"
expect_rc 1 "fix --apply-safe with architecture ignored: the index fix only" -- "$bin" fix "$tmp/demo-keys" --apply-safe --dry-run
lacks "$tmp/out" "strip-prefix" "an ignored rule proposes no fix"
contains "$tmp/out" "regenerate-index" "the rules not ignored still propose theirs"
expect_rc 1 "fix --no-config control: the prefix fix is back" -- "$bin" fix "$tmp/demo-keys" --apply-safe --dry-run --no-config
contains "$tmp/out" "strip-prefix auto" "--no-config plans the prefix fix"
expect_rc 0 "fix --select of a compare-only rule: nothing to fix (not every rule)" -- "$bin" fix "$tmp/demo-keys" --apply-safe --dry-run --select roundtrip-error
lacks "$tmp/out" "regenerate-index" "an empty selection proposes no fix"
expect_rc 1 "fix --ignore on the command line replaces the project's" -- "$bin" fix "$tmp/demo-keys" --apply-safe --dry-run --ignore index
contains "$tmp/out" "strip-prefix auto" "the project's ignore no longer applies"
lacks "$tmp/out" "regenerate-index" "the command line's ignore does"
echo '{"ignore": ["no-such-rule"]}' >"$tmp/demo-keys/ckptdoctor.json"
expect_rc 2 "fix reports a bad project file" -- "$bin" fix "$tmp/demo-keys" --apply-safe --dry-run
contains "$tmp/err" "no-such-rule" "fix names the unknown rule"
# Reports written with --output-file replace the file whole: a failed write keeps the old one.
echo old >"$tmp/kept.json"
chmod a-w "$tmp" 2>/dev/null
if [ -w "$tmp" ]; then ok; else
  expect_rc 2 "--output-file in a read-only directory" -- "$bin" scan --format json --output-file "$tmp/kept.json" fixtures/demo
  if [ "$(cat "$tmp/kept.json")" = old ]; then ok; else fail "a failed report write replaced the file"; fi
fi
chmod u+w "$tmp"
if ls -a "$tmp" | grep -q '\.partial$'; then fail "a report write left its partial file"; else ok; fi
expect_rc 1 "--output-file /dev/stdout writes through" -- "$bin" scan --format json --output-file /dev/stdout fixtures/demo
valid_json "$tmp/out" "--output-file /dev/stdout"
echo old >"$tmp/link-target.json" && ln -sf link-target.json "$tmp/report-link.json"
expect_rc 1 "--output-file through a link" -- "$bin" scan --format json --output-file "$tmp/report-link.json" fixtures/demo
if [ -L "$tmp/report-link.json" ]; then ok; else fail "--output-file replaced the link"; fi
valid_json "$tmp/link-target.json" "the link's target holds the report"

# --format markdown: read back by tests/markdown_check.py against the JSON of the same scan.
for case in fixtures/demo "$tmp/healthy" "$tmp/bad-scales"; do
  "$bin" scan --format json "$case" >"$tmp/md.json"
  expect_rc "$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["summary"]["failed"]))' "$tmp/md.json")" "markdown on $case" -- "$bin" scan --format markdown --output-file "$tmp/report.md" "$case"
  if python3 tests/markdown_check.py scan "$tmp/report.md" "$tmp/md.json" >"$tmp/mdcheck" 2>&1; then ok; else fail "markdown of $case read back"; sed 's/^/  | /' "$tmp/mdcheck" | tail -5; fi
done
contains "$tmp/report.md" "<details><summary>15 more findings</summary>" "long lists collapse"
# A hostile tensor name cannot inject markup.
"$bin" scan --format json "$tmp/forged" >"$tmp/md.json"
expect_rc 1 "markdown of a hostile name" -- "$bin" scan --format markdown "$tmp/forged"
cp "$tmp/out" "$tmp/forged.md"
if python3 tests/markdown_check.py scan "$tmp/forged.md" "$tmp/md.json" >"$tmp/mdcheck" 2>&1; then ok; else fail "markdown of a hostile name read back"; sed 's/^/  | /' "$tmp/mdcheck" | tail -5; fi
if grep -q '^error fake-rule' "$tmp/forged.md"; then fail "a tensor name forged a markdown line"; else ok; fi

# --baseline: accepted findings leave the gate, new ones fail it, fixed ones are listed as gone.
expect_rc 0 "--write-baseline records and passes" -- "$bin" scan --fail-on warning --baseline "$tmp/base.json" --write-baseline "$tmp/warn-only"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ckptdoctor_baseline"] == 1 and [f["name"] for f in d["findings"]] == ["index-total-size"], d' "$tmp/base.json" && ok || fail "baseline file"
expect_rc 1 "without the baseline the warning fails" -- "$bin" scan --fail-on warning "$tmp/warn-only"
expect_rc 0 "a baselined finding passes" -- "$bin" scan --fail-on warning --baseline "$tmp/base.json" "$tmp/warn-only"
contains "$tmp/out" "baseline $tmp/base.json: 1 finding accepted" "text names what the baseline accepted"
lacks "$tmp/out" "index-total-size (CKD" "an accepted finding is not listed"
expect_rc 1 "a new finding fails" -- "$bin" scan --fail-on warning --baseline "$tmp/base.json" "$tmp/bad-scales"
contains "$tmp/out" "non-positive-scale (CKD503) x32" "the new findings are listed"
contains "$tmp/out" "gone: index-total-size" "a fixed finding is reported as gone"
expect_rc 0 "a fixed finding passes" -- "$bin" scan --fail-on warning --baseline "$tmp/base.json" --format json "$tmp/healthy"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["baseline"]; assert b["accepted"] == 0 and [g["name"] for g in b["gone"]] == ["index-total-size"], b' "$tmp/out" && ok || fail "json lists the gone entry"
"$bin" scan --baseline "$tmp/demo-base.json" --write-baseline fixtures/demo >/dev/null 2>&1
expect_rc 0 "the demo against its own baseline" -- "$bin" scan --baseline "$tmp/demo-base.json" --fail-on info fixtures/demo
expect_rc 2 "--write-baseline without --baseline" -- "$bin" scan --write-baseline fixtures/demo
echo '{"findings": []}' >"$tmp/not-a-baseline.json"
expect_rc 2 "a file that is not a baseline" -- "$bin" scan --baseline "$tmp/not-a-baseline.json" fixtures/demo
contains "$tmp/err" "not a ckptdoctor baseline" "bad baseline message"
expect_rc 2 "a missing baseline" -- "$bin" scan --baseline "$tmp/no-such-baseline.json" fixtures/demo

# compare as a gate: the scan's formats, --output-file, --fail-on, -q and -s.
"$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" --format json >"$tmp/cmp.json"
for f in sarif junit github gitlab markdown; do
  expect_rc 1 "compare --format $f on a broken checkpoint" -- "$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" --format "$f" --output-file "$tmp/cmp.$f"
  if [ -s "$tmp/out" ]; then fail "compare --output-file $f also printed to stdout"; else ok; fi
  expect_rc 0 "compare --format $f on a healthy checkpoint" -- "$bin" compare "$cmp/ct-nvfp4" --source "$cmp/source" --format "$f" --output-file "$tmp/cmp-ok.$f"
done
if [ -x .venv/bin/python ]; then
  if .venv/bin/python tests/report_formats_check.py "$tmp/cmp.sarif" "$tmp/cmp.junit" "$tmp/cmp.gitlab" "$tmp/cmp.github" >"$tmp/formats" 2>&1; then ok; else fail "compare CI formats rejected by their readers"; sed 's/^/  | /' "$tmp/formats" | tail -5; fi
fi
python3 - "$tmp/cmp.sarif" "$tmp/cmp.junit" "$tmp/cmp.gitlab" <<'PY' && ok || fail "compare failures are the formats' results"
import json, sys, xml.etree.ElementTree as ET
sarif = json.load(open(sys.argv[1]))
results = sarif["runs"][0]["results"]
assert len(results) == 2 and all(r["ruleId"] == "CKD701" for r in results), results
failures = ET.parse(sys.argv[2]).getroot().iter("failure")
assert sum(1 for _ in failures) == 2
assert len(json.load(open(sys.argv[3]))) == 2
PY
if python3 tests/markdown_check.py compare "$tmp/cmp.markdown" "$tmp/cmp.json" >"$tmp/mdcheck" 2>&1; then ok; else fail "compare markdown read back"; sed 's/^/  | /' "$tmp/mdcheck" | tail -5; fi
"$bin" compare "$cmp/ct-nvfp4" --source "$cmp/source" --format json >"$tmp/cmp-ok.json"
if python3 tests/markdown_check.py compare "$tmp/cmp-ok.markdown" "$tmp/cmp-ok.json" >"$tmp/mdcheck" 2>&1; then ok; else fail "healthy compare markdown read back"; sed 's/^/  | /' "$tmp/mdcheck" | tail -5; fi
expect_rc 0 "compare --fail-on never" -- "$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" --fail-on never
echo '{"severity": {"roundtrip-error": "warning"}}' >"$tmp/cmp-warn.json"
expect_rc 0 "compare: a warning-severity limit passes the error gate" -- "$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" --config "$tmp/cmp-warn.json"
expect_rc 1 "compare: --fail-on warning fails it" -- "$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" --config "$tmp/cmp-warn.json" --fail-on warning
expect_rc 1 "compare -q" -- "$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" -q
contains "$tmp/out" "roundtrip-error (CKD701) x2" "compare -q lists the failing modules"
lacks "$tmp/out" "modules over their limit" "compare -q prints no summary"
expect_rc 1 "compare -s" -- "$bin" compare "$cmp/modelopt-nvfp4-broken" --source "$cmp/source" -s
if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then fail "compare -s printed something"; else ok; fi
expect_rc 2 "compare -s on a usage error" -- "$bin" compare "$cmp/ct-nvfp4" -s
if [ -s "$tmp/out" ] || [ -s "$tmp/err" ]; then fail "compare -s printed a usage error"; else ok; fi
expect_rc 1 "compare of a truncated shard as junit" -- "$bin" compare "$tmp/cut" --source "$cmp/source-sharded" --format junit
contains "$tmp/out" "not decoded" "an undecoded module is a failure in junit"

# rules FAMILY, completions of rule names and families, the man page's ENVIRONMENT and EXAMPLES.
expect_rc 0 "rules scales" -- "$bin" rules scales --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d and all(r["family"] == "scales" and r["code"].startswith("CKD5") for r in d), d' "$tmp/out" && ok || fail "rules FAMILY lists one family"
"$bin" rules CKD5 --format json >"$tmp/ckd5.json"
if cmp -s "$tmp/out" "$tmp/ckd5.json"; then ok; else fail "rules CKD5 differs from rules scales"; fi
expect_rc 0 "rules roundtrip (a compare-tier family)" -- "$bin" rules roundtrip
contains "$tmp/out" "roundtrip-error" "rules roundtrip"
lacks "$tmp/out" "invalid-header" "rules roundtrip lists no other family"
expect_rc 2 "rules with a misspelt family" -- "$bin" rules scalez
contains "$tmp/err" "did you mean scales?" "family suggestion"
"$bin" completions bash >"$tmp/completion.bash"
got=$(bash -c 'source "$1"; COMP_WORDS=(ckptdoctor rules repeated-pre); COMP_CWORD=2; _ckptdoctor; echo "${COMPREPLY[@]}"' _ "$tmp/completion.bash")
if [ "$got" = "repeated-prefix" ]; then ok; else fail "bash completes rules repeated-pre to '$got'"; fi
got=$(bash -c 'source "$1"; COMP_WORDS=(ckptdoctor rules scal); COMP_CWORD=2; _ckptdoctor; echo "${COMPREPLY[@]}"' _ "$tmp/completion.bash")
case " $got " in *" scales "*) ok ;; *) fail "bash completes rules scal to '$got' (no family)" ;; esac
got=$(bash -c 'source "$1"; COMP_WORDS=(ckptdoctor scan --ignore CKD5); COMP_CWORD=3; _ckptdoctor; echo "${COMPREPLY[@]}"' _ "$tmp/completion.bash")
case " $got " in *" CKD503 "*) ok ;; *) fail "bash completes --ignore CKD5 to '$got'" ;; esac
got=$(bash -c 'source "$1"; COMP_WORDS=(ckptdoctor scan fix); COMP_CWORD=2; _ckptdoctor; echo "${COMPREPLY[@]}"' _ "$tmp/completion.bash")
case "$got" in *repeated-prefix*) fail "scan's DIR completes rule names" ;; *) ok ;; esac
"$bin" completions fish >"$tmp/completion.fish"
if grep "__fish_seen_subcommand_from rules' -a" "$tmp/completion.fish" | grep -q " scales .* repeated-prefix "; then ok; else fail "fish completes rule families and names"; fi
"$bin" man | sed 's/\\-/-/g' >"$tmp/man.txt"
for section in ENVIRONMENT EXAMPLES; do contains "$tmp/man.txt" ".SH $section" "man $section"; done
for var in HF_TOKEN HF_ENDPOINT HF_HUB_OFFLINE HF_HOME NO_COLOR CKPTDOCTOR_TRACE; do contains "$tmp/man.txt" ".B $var" "man lists $var"; done
# Several checkpoints: one report each, one exit code; JSON Lines as each scan completes, resumable.
expect_rc 1 "two checkpoints, text" -- "$bin" scan "$tmp/healthy" fixtures/demo
contains "$tmp/out" "ckptdoctor scan $tmp/healthy" "first report"
contains "$tmp/out" "ckptdoctor scan fixtures/demo" "second report"
expect_rc 0 "two healthy" -- "$bin" scan "$tmp/healthy" "$tmp/healthy"
printf '# survey\n%s\nfixtures/demo\n%s/absent\n' "$tmp/healthy" "$tmp" > "$tmp/list.txt"
expect_rc 2 "a list with one unreadable" -- "$bin" scan --from-file "$tmp/list.txt" --format jsonl --output-file "$tmp/survey.jsonl"
if python3 - "$tmp/survey.jsonl" "$tmp" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
by = {r["checkpoint"]: r for r in rows}
assert len(rows) == 3, rows
assert by[sys.argv[2] + "/healthy"]["exit"] == 0 and by[sys.argv[2] + "/healthy"]["summary"]["errors"] == 0
assert by["fixtures/demo"]["exit"] == 1 and by["fixtures/demo"]["summary"]["errors"] > 0
assert by[sys.argv[2] + "/absent"]["exit"] == 2 and "no such" in by[sys.argv[2] + "/absent"]["error"]
PY
then ok; else fail "jsonl survey read back"; fi
# An interrupted run's cut-off last line is ended, passed over, and its scan runs again.
printf '{"checkpoint":"fixtures/demo","exit":1,"summ' >> "$tmp/survey.jsonl"
expect_rc 2 "resume" -- "$bin" scan --from-file "$tmp/list.txt" --format jsonl --output-file "$tmp/survey.jsonl" --skip-done "$tmp/survey.jsonl"
if python3 - "$tmp/survey.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
good = [json.loads(l) for l in lines if l.startswith("{") and l.endswith("}")]
assert len(good) == 4, len(good)  # 3 before + the unreadable one again; done ones skipped
assert [r["exit"] for r in good].count(2) == 2
PY
then ok; else fail "jsonl resume"; fi
expect_rc 2 "json holds one" -- "$bin" scan "$tmp/healthy" fixtures/demo --format json
contains "$tmp/err" "jsonl" "json with several names jsonl"
expect_rc 2 "no DIR" -- "$bin" scan

# Every variable the code reads is in the man page.
for var in $(grep -rhoE 'getenv(_string)?\("[A-Z_]+"\)' src | grep -oE '"[A-Z_]+"' | tr -d '"' | sort -u); do
  case "$var" in HOME|HUGGING_FACE_HUB_TOKEN) continue ;; esac
  contains "$tmp/man.txt" ".B $var" "man lists $var (read by the code)"
done

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
