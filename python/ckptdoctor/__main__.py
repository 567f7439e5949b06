"""`ckptdoctor ARGS` and `python -m ckptdoctor ARGS` run the packaged native binary (same exit codes).

The binary lives inside the package (ckptdoctor/bin/) so that the libraries a manylinux wheel
vendors (ckptdoctor.libs/) are found from it at a fixed relative path.
"""
import os
import sys

from ckptdoctor import find_ckptdoctor_bin


def main() -> None:
    binary = find_ckptdoctor_bin()
    if os.name == "nt":
        import subprocess

        sys.exit(subprocess.call([binary, *sys.argv[1:]]))
    os.execv(binary, ["ckptdoctor", *sys.argv[1:]])


if __name__ == "__main__":
    main()
