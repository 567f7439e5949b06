#!/usr/bin/env bash
# End-to-end checks of `ckptdoctor inspect` and `ckptdoctor diff`, and of single-file paths for
# scan: exit codes, JSON read back by a parser (parameter counts held to an independent reading
# of the headers, huggingface_hub's rule), Markdown, and hostile inputs (one-line errors, never
# a crash). Usage: inspect_diff_test.sh CKPTDOCTOR FIXTURE_TOOL
set -u
bin=$1
fixture_tool=$2
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/check_helpers.sh
py=python3
quant=fixtures/producers/ct-nvfp4
source=fixtures/producers/source-llama

# inspect: text and JSON.
expect_rc 0 "inspect text" -- "$bin" inspect --color never "$quant"
contains "$tmp/out" "LlamaForCausalLM" "inspect names the architecture"
contains "$tmp/out" "NVFP4" "inspect lists the scheme"
contains "$tmp/out" "FP4 in U8" "inspect counts packed values"
contains "$tmp/out" "model-00002-of-00002.safetensors" "inspect lists the shards"
for ck in "$quant" fixtures/producers/ct-w4a16 fixtures/producers/mo-nvfp4 "$source"; do
  expect_rc 0 "inspect json $ck" -- "$bin" inspect --format json "$ck"
  # The Hub's count, recomputed from the headers the way huggingface_hub does
  # (utils/_safetensors.py: product of the shape, 1 for a scalar, summed per dtype per file).
  $py - "$tmp/out" "$ck" <<'PY' && ok || fail "inspect json of $ck against the headers"
import glob, json, math, os, struct, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1
counts, total_bytes = {}, 0
for path in sorted(glob.glob(os.path.join(sys.argv[2], "*.safetensors"))):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    for name, t in header.items():
        if name == "__metadata__":
            continue
        counts[t["dtype"]] = counts.get(t["dtype"], 0) + (math.prod(t["shape"]) if t["shape"] else 1)
        total_bytes += t["data_offsets"][1] - t["data_offsets"][0]
p = d["parameters"]
assert p["hub_by_dtype"] == counts, (p["hub_by_dtype"], counts)
assert p["hub_total"] == sum(counts.values())
assert d["bytes"]["total"] == total_bytes
assert sum(p["by_storage"].values()) == p["total"]
assert abs(d["bits_per_weight"]["overall"] - 8 * total_bytes / p["total"]) < 1e-9
assert sum(s["bytes"] for s in d["schemes"]) == total_bytes
assert sum(s["tensors"] for s in d["shards"]) == d["tensor_count"]
assert "tensors" not in d
PY
done
expect_rc 0 "inspect --filter" -- "$bin" inspect --format json --filter '*.layers.1.mlp.*' "$quant"
$py -c '
import json, sys, fnmatch
d = json.load(open(sys.argv[1]))
names = [t["name"] for t in d["tensors"]]
assert names and all(fnmatch.fnmatchcase(n, "*.layers.1.mlp.*") for n in names), names
' "$tmp/out" && ok || fail "inspect --filter lists only matching tensors"

# A lone .safetensors file, for inspect and scan.
expect_rc 0 "inspect a single file" -- "$bin" inspect --color never "$quant/model-00001-of-00002.safetensors"
contains "$tmp/out" "(single file)" "single file noted"
contains "$tmp/out" "configs beside the file not read" "a shard's configs are not its own"
mkdir "$tmp/lone"
cp "$source/config.json" "$tmp/lone/"
"$fixture_tool" build fixtures/specs/base-bf16.json "$tmp/bf16" >/dev/null 2>&1 || fail "building base-bf16"
expect_rc 0 "scan a single file" -- "$bin" scan --color never "$tmp/bf16/model.safetensors"
contains "$tmp/out" "model.safetensors" "single-file scan names the file"
expect_rc 2 "scan a non-safetensors file" -- "$bin" scan "$source/config.json"
contains "$tmp/err" "not a directory or a .safetensors file" "names what it accepts"

# diff: exit codes like diff(1).
expect_rc 0 "diff same" -- "$bin" diff "$source" "$source"
contains "$tmp/out" "same" "diff says same"
expect_rc 1 "diff source vs quantized" -- "$bin" diff --color never "$source" "$quant"
contains "$tmp/out" "packing" "diff names the packing renames"
contains "$tmp/out" "BF16 -> U8" "diff groups dtype changes"
contains "$tmp/out" "weight_global_scale" "diff lists scales only in B"
expect_rc 1 "diff json" -- "$bin" diff --format json "$source" "$quant"
$py - "$tmp/out" <<'PY' && ok || fail "diff json schema"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and d["same"] is False
assert set(d) >= {"a", "b", "only_in_a", "only_in_b", "renamed", "prefix_change", "changed",
                  "config", "quantization", "files", "summary"}
assert len([r for r in d["renamed"] if r["kind"] == "packing"]) == 14
assert all(c["a"]["dtype"] == "BF16" for c in d["changed"])
assert any(q["path"].endswith("quantization_config") for q in d["quantization"])
assert d["summary"]["renamed"] == len(d["renamed"])
assert d["files"]["compared"] is True
PY
expect_rc 1 "diff markdown" -- "$bin" diff --format markdown "$source" "$quant"
contains "$tmp/out" "## ckptdoctor diff: differ" "markdown heading"
contains "$tmp/out" "<details><summary>Renamed (14)</summary>" "markdown collapsed renames"
$py - "$tmp/out" <<'PY' && ok || fail "markdown tables are well formed"
import sys
rows = [l for l in open(sys.argv[1]) if l.startswith("|")]
assert rows
# Every table row has as many cells as its header row (escaped pipes excluded).
table = []
for line in open(sys.argv[1]).read().split("\n\n"):
    lines = [l for l in line.splitlines() if l.startswith("|")]
    if not lines:
        continue
    width = lines[0].replace("\\|", "").count("|")
    assert all(l.replace("\\|", "").count("|") == width for l in lines), lines
PY
expect_rc 1 "diff --output-file" -- "$bin" diff --format json --output-file "$tmp/diff.json" "$source" "$quant"
valid_json "$tmp/diff.json" "diff --output-file"
# A tokenizer changed by accident is a difference on its own.
cp -r "$source" "$tmp/copy"
echo '{"chat_template": "a"}' > "$tmp/copy/tokenizer_config.json"
cp -r "$source" "$tmp/copy2"
echo '{"chat_template": "b"}' > "$tmp/copy2/tokenizer_config.json"
expect_rc 1 "diff tokenizer only" -- "$bin" diff --color never "$tmp/copy" "$tmp/copy2"
contains "$tmp/out" "tokenizer_config.json" "diff names the changed file"
expect_rc 2 "diff a missing checkpoint" -- "$bin" diff "$source" "$tmp/nope"
contains "$tmp/err" "no such file or directory" "diff missing message"

# Hostile input: every fixture spec (malformed containers included) gives a report or a
# one-line error; never a crash, a hang or a partial report.
n=0
for spec in fixtures/specs/*.json; do
  name=$(basename "$spec" .json)
  "$fixture_tool" build "$spec" "$tmp/spec-$name" >/dev/null 2>&1 || continue
  n=$((n + 1))
  timeout 60 "$bin" inspect --format json "$tmp/spec-$name" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 0 ]; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" 2>/dev/null && ok || fail "inspect $name: stdout is not JSON"
  elif [ $rc -eq 2 ]; then
    [ "$(wc -l < "$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ] && ok || fail "inspect $name: not one error line"
  else
    fail "inspect $name: exit $rc"
  fi
  timeout 60 "$bin" diff "$tmp/spec-$name" "$tmp/bf16" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 2 ]; then
    [ "$(wc -l < "$tmp/err")" -eq 1 ] && ok || fail "diff $name: not one error line"
  elif [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
    fail "diff $name: exit $rc"
  else
    ok
  fi
done
[ "$n" -gt 50 ] && ok || fail "only $n fixture specs built"
for spec in container-header-past-eof container-not-json container-shape-overflow; do
  expect_rc 2 "inspect $spec" -- "$bin" inspect "$tmp/spec-$spec"
  contains "$tmp/err" "model.safetensors" "inspect $spec names the file"
done

# Help, man page and completions pick the commands up from the command tree.
expect_rc 0 "man" -- "$bin" man
contains "$tmp/out" "inspect" "man page lists inspect"
contains "$tmp/out" "diff" "man page lists diff"
expect_rc 0 "bash completions" -- "$bin" completions bash
contains "$tmp/out" "inspect" "completion knows inspect"
contains "$tmp/out" "--filter" "completion knows inspect's options"

echo "inspect/diff CLI: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
