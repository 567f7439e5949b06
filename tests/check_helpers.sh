# Sourced by the shell tests (cli_test.sh, remote_test.sh): counters and checks. Each check
# counts as passed or failed; commands run by expect_rc leave their output in $tmp/out and
# $tmp/err, so $tmp must be set first.
passed=0
failed=0

ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
expect_rc() {  # expect_rc WANT DESCRIPTION -- command...
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else fail "$what: exit $rc, wanted $want"; sed 's/^/  | /' "$tmp/err" | head -5; fi
}
contains() {  # contains FILE TEXT DESCRIPTION
  if grep -qF -- "$2" "$1"; then ok; else fail "$3: no \"$2\" in output"; sed 's/^/  | /' "$1" | head -5; fi
}
lacks() {
  if grep -qF -- "$2" "$1"; then fail "$3: unexpected \"$2\" in output"; else ok; fi
}
valid_json() {
  if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; then ok; else fail "$2: stdout is not one JSON document"; fi
}
