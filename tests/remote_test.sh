#!/usr/bin/env bash
# Remote scans against a real HTTP server: nginx on loopback serves every fixture checkpoint in
# the Hub's layout (ORG/REPO/resolve/REV/FILE beside api/models/ORG/REPO/tree/REV), and a remote
# scan must report exactly what a local scan of the same files reports. Also: a server that
# ignores Range, one that answers errors, one that stalls, redirects, the token's confinement to
# its host, and the refusals. Usage: remote_test.sh CKPTDOCTOR FIXTURE_TOOL
set -u
bin=$(realpath "$1")
fixture_tool=$(realpath "$2")
cd "$(dirname "$0")/.."
. tests/hub_server.sh
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "remote: nginx is not installed (scripts/test.sh installs it); skipped" >&2
  exit 77
fi
tmp=$(mktemp -d)
chmod 755 "$tmp"  # nginx workers may run as another user
hostile_pid=""
cleanup() {
  [ -n "$hostile_pid" ] && kill "$hostile_pid" 2>/dev/null
  hub_nginx_stop "$tmp"
  rm -rf "$tmp"
}
trap cleanup EXIT
. tests/check_helpers.sh

# --- The served tree: every fixture spec as hf://org/SPEC at revision main. -----------------
root=$tmp/root
mkdir -p "$root"
publish() { hub_publish "$root" "$@"; }
specs=()
mkdir -p "$tmp/local"
for spec in fixtures/specs/*.json; do
  name=$(basename "$spec" .json)
  "$fixture_tool" build "$spec" "$tmp/local/$name" >/dev/null 2>&1 || { fail "building $name"; continue; }
  publish "$tmp/local/$name" "org/$name"
  specs+=("$name")
done
# A revision with a slash (a pull request ref) must travel as one encoded path segment.
publish "$tmp/local/base-fp8-block" "org/base-fp8-block" "refs/pr/1"
# The same files behind a plain directory URL: no listing API, the index names the shards.
mkdir -p "$root/plain"
cp -a "$tmp/local/index-missing-shard" "$root/plain/index-missing-shard"
# A shard too large to read without Range (the ignore-Range server must refuse, not download it).
"$fixture_tool" bench-moe "$tmp/local/big" --layers 2 --experts 4 --shards 1 >/dev/null 2>&1 \
  || fail "building the large sparse checkpoint"
publish "$tmp/local/big" "org/big"

# --- nginx: four servers on loopback ports. ------------------------------------------------
port=$(hub_pick_port); norange=$(hub_pick_port); broken=$(hub_pick_port); stall=$(hub_pick_port)
# server-error and cdn reuse a fixture's listing; their files are refused or redirected.
publish "$tmp/local/base-fp8-block" "org/server-error"
publish "$tmp/local/base-fp8-block" "org/cdn"
hub_nginx_conf "$tmp" "
  types { application/json json; }
  log_format auth '\$host \$uri \"\$http_authorization\" \$status';
  server {  # a Hub: Range, redirects, one repository whose shards fail, one that moved hosts
    listen 127.0.0.1:$port;
    root $root;
    access_log $tmp/access.log auth;
    location /api/ { default_type application/json; }
    location ~ ^/moved/(.*)\$ { return 302 /\$1; }
    location ~ ^/loop/(.*)\$ { return 302 /loop/\$1; }
    location ~ ^/org/server-error/resolve/main/.*\.safetensors\$ { return 503; }
    location ~ ^/org/cdn/resolve/main/(.*)\$ {
      return 302 http://localhost:$port/org/base-fp8-block/resolve/main/\$1;
    }
  }
  server {  # ignores Range: every answer is the whole file with 200
    listen 127.0.0.1:$norange;
    root $root;
    max_ranges 0;
    location /api/ { default_type application/json; }
  }
  server {  # every request fails
    listen 127.0.0.1:$broken;
    location / { return 500; }
  }
  server {  # answers at 1 byte per second
    listen 127.0.0.1:$stall;
    root $root;
    limit_rate 1;
    sendfile off;
    location /api/ { default_type application/json; }
  }" >"$tmp/nginx.conf"
hub_nginx_start "$tmp" "$port" || { echo "remote: nginx did not start"; exit 1; }
hub="http://127.0.0.1:$port"

# --- Every fixture: a remote scan reports what a local scan reports. -------------------------
same_findings() {  # same_findings LOCAL_JSON REMOTE_JSON NAME
  python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda d: [(f["code"], f["file"], f["tensor"], f["message"]) for f in d["findings"]]
if key(a) != key(b):
    for x in key(a):
        if x not in key(b): print("  only local: ", x)
    for x in key(b):
        if x not in key(a): print("  only remote:", x)
    sys.exit(1)
for k in ("files", "tensors", "tensor_bytes", "quantization", "failed"):
    if a["summary"][k] != b["summary"][k]:
        print("  summary", k, a["summary"][k], b["summary"][k]); sys.exit(1)
if "transfer" not in b or b["transfer"]["requests"] < 1:
    print("  no transfer figures in the remote report"); sys.exit(1)
PY
}
# Not representable over HTTP: a symlink out of the directory (index-unsafe-path), a directory
# named like a shard (unreadable-shard; the listing calls it a directory, so it is missing), and
# a local fix's journal (interrupted-fix).
local_only=" index-unsafe-path unreadable-shard interrupted-fix "
for name in "${specs[@]}"; do
  [[ "$local_only" == *" $name "* ]] && continue
  "$bin" scan --no-config --format json "$tmp/local/$name" >"$tmp/local.json" 2>"$tmp/local.err"
  local_rc=$?
  HF_ENDPOINT=$hub "$bin" scan --format json "hf://org/$name" >"$tmp/remote.json" 2>"$tmp/remote.err"
  remote_rc=$?
  if [ "$local_rc" -ne "$remote_rc" ]; then
    fail "$name: exit $remote_rc remotely, $local_rc locally"
    head -3 "$tmp/remote.err"
    continue
  fi
  [ "$local_rc" -eq 2 ] && { ok; continue; }
  if same_findings "$tmp/local.json" "$tmp/remote.json"; then ok; else fail "$name: remote findings differ"; fi
done

# The text report says what was fetched.
expect_rc 0 "text report" -- env HF_ENDPOINT="$hub" "$bin" scan hf://org/base-fp8-block
contains "$tmp/out" "fetched " "bytes-transferred line"

# --source may be remote too (headers only).
"$bin" scan --no-config --format json --source "$tmp/local/source-clean" "$tmp/local/key-prefix-mismatch" >"$tmp/local.json" 2>/dev/null
HF_ENDPOINT=$hub "$bin" scan --format json --source hf://org/source-clean hf://org/key-prefix-mismatch >"$tmp/remote.json" 2>/dev/null
same_findings "$tmp/local.json" "$tmp/remote.json" && ok || fail "remote --source"

# Revisions, URL forms, redirects.
expect_rc 0 "revision with a slash" -- env HF_ENDPOINT="$hub" "$bin" scan hf://org/base-fp8-block@refs/pr/1
expect_rc 2 "unknown revision" -- env HF_ENDPOINT="$hub" "$bin" scan hf://org/base-fp8-block@nope
contains "$tmp/err" "no such repository or revision" "unknown revision message"
expect_rc 2 "unknown repository" -- env HF_ENDPOINT="$hub" "$bin" scan hf://org/no-such-repo
expect_rc 0 "resolve URL" -- "$bin" scan "$hub/org/base-fp8-block/resolve/main/"
expect_rc 0 "redirected endpoint" -- env HF_ENDPOINT="$hub/moved" "$bin" scan hf://org/base-fp8-block
"$bin" scan --no-config --format json "$tmp/local/index-missing-shard" >"$tmp/local.json" 2>/dev/null
"$bin" scan --format json "$hub/plain/index-missing-shard/" >"$tmp/remote.json" 2>/dev/null
same_findings "$tmp/local.json" "$tmp/remote.json" && ok || fail "directory URL without a listing"

# The token goes to the endpoint's host, never to the host a file redirects to.
: >"$tmp/access.log"
expect_rc 0 "redirect to another host" -- env HF_ENDPOINT="$hub" HF_TOKEN=secret-test-token "$bin" scan hf://org/cdn
if grep -q '^127.0.0.1 .*"Bearer secret-test-token"' "$tmp/access.log"; then ok; else fail "token not sent to the endpoint"; fi
if grep -q '^localhost .*/org/base-fp8-block/' "$tmp/access.log"; then ok; else fail "redirect not followed"; fi
if grep '^localhost ' "$tmp/access.log" | grep -q 'Bearer'; then fail "token leaked to the redirect host"; else ok; fi

# A server that ignores Range: small files are cut from the start of the whole-file answer;
# reading past the prefix bound is refused, not downloaded.
"$bin" scan --no-config --format json "$tmp/local/scale-inverted-ct" >"$tmp/local.json" 2>/dev/null
HF_ENDPOINT="http://127.0.0.1:$norange" "$bin" scan --format json hf://org/scale-inverted-ct >"$tmp/remote.json" 2>/dev/null
same_findings "$tmp/local.json" "$tmp/remote.json" && ok || fail "server ignoring Range"
expect_rc 2 "ignored Range on a large shard" -- env HF_ENDPOINT="http://127.0.0.1:$norange" "$bin" scan hf://org/big
contains "$tmp/err" "ignored the Range request" "ignored Range message"

# Errors: the scan stops with exit 2 and names the URL and status, after retrying.
expect_rc 2 "server errors" -- env HF_ENDPOINT="http://127.0.0.1:$broken" "$bin" scan --retries 1 hf://org/base-fp8-block
contains "$tmp/err" "HTTP 500" "server error message"
contains "$tmp/err" "2 attempts" "retried"
expect_rc 2 "shard errors" -- env HF_ENDPOINT="$hub" "$bin" scan --retries 0 hf://org/server-error
contains "$tmp/err" "HTTP 503" "shard error message"

# A stalled server times out instead of hanging.
start=$(date +%s)
expect_rc 2 "stalled server" -- env HF_ENDPOINT="http://127.0.0.1:$stall" timeout 60 "$bin" scan --timeout 1 --retries 0 hf://org/base-fp8-block
contains "$tmp/err" "too slow" "stall message"
[ $(($(date +%s) - start)) -lt 20 ] && ok || fail "stall took $(($(date +%s) - start)) s"

# --- Bounds: what a hostile server can make a scan read, hold and wait for. -------------------
# tests/hostile_server.py misbehaves in the repositories named after what it does; each case runs
# under `timeout` so that an unbounded read fails the test instead of hanging it.
for repo in endless-500 endless-403 endless-404-config endless-headers redirect-endless-body \
    redirect-honest trickle long-content-length; do
  publish "$tmp/local/base-fp8-block" "org/$repo"
done
python3 tests/hostile_server.py "$root" "$tmp/hostile.port" 2>"$tmp/hostile.log" &
hostile_pid=$!
for _ in $(seq 50); do [ -f "$tmp/hostile.port" ] && break; sleep 0.1; done
hostile="http://127.0.0.1:$(cat "$tmp/hostile.port" 2>/dev/null)"
bounded() {  # bounded WANT_RC SECONDS DESCRIPTION -- scan arguments...: exit code and wall time
  local want=$1 limit=$2 what=$3 start
  shift 4
  start=$(date +%s)
  expect_rc "$want" "$what" -- env HF_ENDPOINT="$hostile" timeout 30 "$bin" scan "$@"
  [ $(($(date +%s) - start)) -le "$limit" ] && ok || fail "$what took $(($(date +%s) - start)) s"
}
# The honest answers of the same server: the control for every case below.
expect_rc 0 "hostile server's honest repository" -- env HF_ENDPOINT="$hostile" "$bin" scan hf://org/redirect-honest
# An error with an endless body: a few KB are kept for the message, the rest is not read.
bounded 2 10 "endless HTTP 500 body" -- --timeout 3 --retries 0 hf://org/endless-500
contains "$tmp/err" "HTTP 500 (xxxxxxxx" "endless 500 message"
bounded 2 10 "endless HTTP 403 body" -- --timeout 3 --retries 0 hf://org/endless-403
contains "$tmp/err" "HTTP 403" "endless 403 message"
# A 404 with an endless body is a missing config.json: the scan goes on without it.
mkdir -p "$tmp/local/no-config" && cp -a "$tmp/local/base-fp8-block/." "$tmp/local/no-config/" && rm "$tmp/local/no-config/config.json"
"$bin" scan --no-config --format json "$tmp/local/no-config" >"$tmp/local.json" 2>/dev/null
bounded 0 10 "endless HTTP 404 body" -- --format json --timeout 3 --retries 0 hf://org/endless-404-config
cp "$tmp/out" "$tmp/remote.json"
same_findings "$tmp/local.json" "$tmp/remote.json" && ok || fail "endless 404 body: findings differ"
# Headers without end, and a redirect whose body never ends (libcurl reads and discards it).
bounded 2 10 "endless headers" -- --timeout 3 --retries 0 hf://org/endless-headers
contains "$tmp/err" "bytes of response headers" "endless headers message"
bounded 2 10 "endless redirect body" -- --timeout 3 --retries 0 hf://org/redirect-endless-body
contains "$tmp/err" "bytes this request may receive" "endless redirect body message"
# A body trickling above the stall limit ends at the deadline, with the file and the bound named.
bounded 2 10 "trickling server" -- --timeout 3 --deadline 2 --retries 1 hf://org/trickle
contains "$tmp/err" "/org/trickle/resolve/main/model-0000" "trickle message names the file"
contains "$tmp/err" "within the 2-second deadline for 100001 bytes" "trickle message names the bound"
expect_rc 0 "a short deadline on a healthy server" -- env HF_ENDPOINT="$hub" "$bin" scan --deadline 2 hf://org/base-fp8-block
# A Content-Length longer than the body: the short read is an error, not a hang.
bounded 2 10 "Content-Length longer than the body" -- --timeout 3 --retries 0 hf://org/long-content-length
contains "$tmp/err" "transfer closed" "short body message"
# Redirect loops end at libcurl's limit of 10.
expect_rc 2 "redirect loop" -- env HF_ENDPOINT="$hub/loop" timeout 30 "$bin" scan --retries 0 hf://org/base-fp8-block
contains "$tmp/err" "redirects followed" "redirect loop message"

# The listing: bounded in entries and bytes; names that are neither shards nor JSON are not kept
# or fetched (100,000 junk entries beside a fixture cost no request).
bounded 2 10 "listing of 1,000,001 entries" -- --retries 0 hf://org/listing-entries-1000001
contains "$tmp/err" "more than 1000000 entries" "listing entries message"
bounded 2 20 "listing of 270 MB" -- --retries 0 hf://org/listing-padded-18
contains "$tmp/err" "more than 268435456 bytes" "listing bytes message"
publish "$tmp/local/base-fp8-block" "org/junk-listing"
python3 - "$root/api/models/org/junk-listing/tree/main" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))
entries += [{"type": "file", "path": f"junk-{i:06d}.bin", "size": 1} for i in range(100000)]
json.dump(entries, open(sys.argv[1], "w"))
PY
"$bin" scan --no-config --format json "$tmp/local/base-fp8-block" >"$tmp/local.json" 2>/dev/null
HF_ENDPOINT=$hub "$bin" scan --format json hf://org/base-fp8-block >"$tmp/plain.json" 2>/dev/null
HF_ENDPOINT=$hub "$bin" scan --format json hf://org/junk-listing >"$tmp/remote.json" 2>/dev/null
same_findings "$tmp/local.json" "$tmp/remote.json" && ok || fail "junk listing: findings differ"
python3 - "$tmp/plain.json" "$tmp/remote.json" <<'PY' && ok || fail "junk listing entries were fetched"
import json, sys
a, b = (json.load(open(p))["transfer"]["requests"] for p in sys.argv[1:3])
if b != a:
    print(f"  {b} requests with junk entries, {a} without")
    sys.exit(1)
PY

# Memory per file: 500 shards of 1 MB (sparse) with small headers. Each file's first request
# (100,001 bytes) is dropped once its header is parsed, so the peak stays near that of a small
# scan instead of growing by 100 KB a file.
python3 - "$tmp/local/many" <<'PY'
import json, os, struct, sys
d = sys.argv[1]
os.makedirs(d)
for i in range(500):
    header = json.dumps({f"layers.{i}.weight": {"dtype": "BF16", "shape": [512, 1024],
                                                "data_offsets": [0, 1 << 20]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(os.path.join(d, f"part-{i:04d}.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.truncate(8 + len(header) + (1 << 20))
PY
publish "$tmp/local/many" "org/many"
rss_kb=$(HF_ENDPOINT="$hub" python3 - "$bin" "$tmp/err" <<'PY'
import resource, subprocess, sys
rc = subprocess.call([sys.argv[1], "scan", "--fail-on", "never", "hf://org/many"],
                     stdout=subprocess.DEVNULL, stderr=open(sys.argv[2], "w"))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if rc == 0 else -1)
PY
)
[ "$rss_kb" -gt 0 ] && ok || { fail "scan of 500 shards"; head -3 "$tmp/err"; }
echo "remote: the scan of 500 shards peaked at $rss_kb KB"
[ "$rss_kb" -lt 40000 ] && ok || fail "scan of 500 shards peaked at $rss_kb KB (bound 40000 KB)"

# inspect and diff read hf:// through the same store as scan: the same report as the files.
publish fixtures/producers/ct-nvfp4 org/ct-nvfp4
HF_ENDPOINT=$hub "$bin" inspect --format json hf://org/ct-nvfp4 >"$tmp/remote.json" 2>"$tmp/remote.err"
"$bin" inspect --format json fixtures/producers/ct-nvfp4 >"$tmp/local.json" 2>/dev/null
python3 - "$tmp/remote.json" "$tmp/local.json" <<'PY' && ok || { fail "remote inspect differs from local"; head -3 "$tmp/remote.err"; }
import json, sys
r, l = (json.load(open(p)) for p in sys.argv[1:3])
assert r["checkpoint"]["location"] == "hf://org/ct-nvfp4"
for d in (r, l):
    del d["checkpoint"]["location"]
assert r == l
PY
expect_rc 0 "diff remote vs local copy" -- env HF_ENDPOINT="$hub" "$bin" diff hf://org/ct-nvfp4 fixtures/producers/ct-nvfp4
mkdir -p "$tmp/tok-a" "$tmp/tok-b"
cp -a fixtures/producers/ct-nvfp4/. "$tmp/tok-a/"
cp -a fixtures/producers/ct-nvfp4/. "$tmp/tok-b/"
echo '{"chat_template": "a"}' >"$tmp/tok-a/tokenizer_config.json"
echo '{"chat_template": "b"}' >"$tmp/tok-b/tokenizer_config.json"
echo 'merges' >"$tmp/tok-a/merges.txt"
publish "$tmp/tok-a" org/tok-a
expect_rc 1 "diff remote tokenizer change" -- env HF_ENDPOINT="$hub" "$bin" diff --format json hf://org/tok-a "$tmp/tok-b"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
files = {f["name"]: f["change"] for f in d["files"]["changes"]}
assert files == {"tokenizer_config.json": "differ", "merges.txt": "only_in_a"}, files
assert d["only_in_a"] == d["only_in_b"] == [] and d["changed"] == []
' "$tmp/out" && ok || fail "remote diff names the tokenizer files"
expect_rc 2 "diff unknown remote repository" -- env HF_ENDPOINT="$hub" "$bin" diff hf://org/no-such-repo fixtures/producers/ct-nvfp4

# Refusals: offline mode, malformed locations, --deep and fix on a remote checkpoint.
expect_rc 2 "HF_HUB_OFFLINE" -- env HF_ENDPOINT="$hub" HF_HUB_OFFLINE=1 "$bin" scan hf://org/base-fp8-block
contains "$tmp/err" "HF_HUB_OFFLINE" "offline message"
expect_rc 2 "malformed hf://" -- "$bin" scan "hf://org/a/b/c"
expect_rc 2 "file URL" -- "$bin" scan "$hub/org/base-fp8-block/resolve/main/model.safetensors"
expect_rc 2 "--deep remote" -- env HF_ENDPOINT="$hub" "$bin" scan --deep hf://org/base-fp8-block
contains "$tmp/err" "--deep" "--deep message"
expect_rc 2 "fix remote" -- env HF_ENDPOINT="$hub" "$bin" fix hf://org/repeated-prefix --dry-run --strip-prefix auto
contains "$tmp/err" "download the checkpoint" "fix message"

echo "remote: $passed passed, $failed failed (${#specs[@]} fixtures)"
[ "$failed" -eq 0 ]
