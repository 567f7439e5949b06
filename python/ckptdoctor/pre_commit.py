"""pre-commit entry point: pre-commit passes the changed files; ckptdoctor scans directories.

Each changed *.safetensors / index / config file is mapped to its checkpoint directory, every
directory is scanned once, and the exit code is the worst of the scans (0 clean, 1 findings,
2 could not run). Options before the file names (from `args:` in .pre-commit-config.yaml) are
passed to every scan, e.g. `args: [--fail-on, warning]`.
"""
import os
import subprocess
import sys

from ckptdoctor import find_ckptdoctor_bin


def split_args(argv):
    """(options for the scan, file names): options are everything before the first file."""
    options, files = [], []
    takes_value = {"--fail-on", "--select", "--ignore", "--source", "--config", "--threads",
                   "--rules", "--format", "--output-file", "--color", "--progress"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if files or not arg.startswith("-"):
            files.append(arg)
        else:
            options.append(arg)
            if arg in takes_value and i + 1 < len(argv):
                i += 1
                options.append(argv[i])
        i += 1
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
        code = subprocess.call([binary, "scan", *options, directory])
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())
