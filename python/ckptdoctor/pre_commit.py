"""pre-commit entry point: pre-commit passes the changed files; ckptdoctor scans directories.

Each changed *.safetensors / index / config file is mapped to its checkpoint directory, every
directory is scanned once, and the exit code is the worst of the scans (0 clean, 1 findings,
2 could not run). Options before the file names (from `args:` in .pre-commit-config.yaml) are
passed to every scan, e.g. `args: [--fail-on, warning]` or `args: [--select, CKD5, CKD3]`.
"""
import os
import subprocess
import sys

from ckptdoctor import find_ckptdoctor_bin


# The `ckptdoctor scan` options that take a value (tests/cli_test.sh checks this list against
# `ckptdoctor scan --help`). MULTI_VALUE ones accept several (`--select CKD5 CKD3`).
TAKES_VALUE = {"--fail-on", "--select", "--ignore", "--source", "--config", "--threads",
               "--rules", "--format", "--output-file", "--color", "--progress", "--timeout",
               "--retries", "--deadline", "--engine", "--baseline", "--from-file",
               "--skip-done", "--jobs"}
MULTI_VALUE = {"--select", "--ignore", "--engine"}


def split_args(argv):
    """(options for the scan, file names).

    Options come first (from `args:` in .pre-commit-config.yaml), then the files pre-commit
    passes. An option's values are the words after it up to the next option; for --select and
    --ignore that can be several words, and a word naming an existing file ends them (pre-commit
    only passes files that exist). `--` ends the options explicitly.
    """
    options, files = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--" and not files:
            files.extend(argv[i:])
            break
        if files or not arg.startswith("-"):
            files.append(arg)
            continue
        name = arg.split("=", 1)[0]
        if "=" in arg or name not in TAKES_VALUE:
            options.append(arg)
            continue
        values = []
        while i < len(argv) and not argv[i].startswith("-"):
            if values and (name not in MULTI_VALUE or os.path.exists(argv[i])):
                break
            values.append(argv[i])
            i += 1
        # One word per option ("--select=CKD5,CKD3"): the scan cannot take the directory that
        # follows for one more value.
        options.append(f"{name}={','.join(values)}" if values else arg)
    return options, files


def main(argv=None) -> int:
    options, files = split_args(sys.argv[1:] if argv is None else argv)
    directories = sorted({os.path.dirname(os.path.abspath(f)) for f in files})
    # A config.json alone is not a checkpoint: scan only directories that hold shards or an index.
    directories = [d for d in directories if any(
        name.endswith(".safetensors") or name == "model.safetensors.index.json"
        for name in os.listdir(d))]
    binary = find_ckptdoctor_bin()
    worst = 0
    for directory in directories:
        code = subprocess.call([binary, "scan", directory, *options])
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())
