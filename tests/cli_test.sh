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
contains "$tmp/out" "repeated-prefix" "demo text report"
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
expect_rc 1 "select by name" -- "$bin" scan --format json --select repeated-prefix fixtures/demo
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {f["name"] for f in d["findings"]} == {"repeated-prefix"}' "$tmp/out" && ok || fail "select by name"
expect_rc 0 "ignore families and codes" -- "$bin" scan --ignore quantization,keys --ignore CKD5 fixtures/demo
contains "$tmp/out" "index-total-size" "ignored all but one"
lacks "$tmp/out" "repeated-prefix" "ignored keys family"
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
contains "$tmp/out" " -> model.language_model.layers." "dry run shows an example"
expect_rc 1 "demo fix: written, unfixable errors remain" -- "$bin" fix fixtures/demo --apply-safe -o "$tmp/demo-fixed"
contains "$tmp/out" "verified byte for byte" "fix reports verification"
contains "$tmp/out" "re-scan of" "fix re-scans its output"
lacks "$tmp/out" "repeated-prefix (CKD402)" "the re-scan no longer finds the repaired rule"
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
assert d["fixes"][0]["fix"].startswith("strip-prefix") and d["fixes"][0]["count"] == 130
assert d["written"]["files_rewritten"] == 2
assert d["rescan"]["errors"] > 0 and not any(f["name"] == "repeated-prefix" for f in d["rescan"]["findings"])
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
if grep -q "src=\|href=\|<script" "$tmp/compare.html"; then fail "compare html is not self-contained"; else ok; fi
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
expect_rc 1 "pre-commit hook --select with two values" -- hook --select CKD2 CKD4 fixtures/demo/config.json
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

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
