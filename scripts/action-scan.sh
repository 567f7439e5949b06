#!/usr/bin/env bash
# The scan step of action.yml (kept in a script so tests run exactly what the action runs).
# Inputs arrive as environment variables: CKD_PATH (required), CKD_FAIL_ON, CKD_SOURCE,
# CKD_SARIF (also write SARIF there, for github/codeql-action/upload-sarif), CKD_ARGS (extra
# options, split on spaces). CKPTDOCTOR overrides the binary (tests).
set -uo pipefail
bin=${CKPTDOCTOR:-ckptdoctor}
: "${CKD_PATH:?the action needs a path}"
args=(scan "$CKD_PATH")
if [ -n "${CKD_SOURCE:-}" ]; then args+=(--source "$CKD_SOURCE"); fi
# shellcheck disable=SC2206
if [ -n "${CKD_ARGS:-}" ]; then args+=($CKD_ARGS); fi
if [ -n "${CKD_SARIF:-}" ]; then
  "$bin" "${args[@]}" --format sarif --output-file "$CKD_SARIF" --fail-on never || exit 2
fi
# Annotations in the log and on the PR, the table in the job summary; the exit code gates.
exec "$bin" "${args[@]}" --fail-on "${CKD_FAIL_ON:-error}" --format github
