"""`python -m ckptdoctor ARGS` runs the ckptdoctor binary with ARGS (same exit codes)."""
import os
import sys

from ckptdoctor import find_ckptdoctor_bin


def main() -> None:
    binary = find_ckptdoctor_bin()
    if os.name == "nt":
        import subprocess

        sys.exit(subprocess.call([binary, *sys.argv[1:]]))
    os.execv(binary, [binary, *sys.argv[1:]])


if __name__ == "__main__":
    main()
