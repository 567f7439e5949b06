"""ckptdoctor: verify and repair quantized LLM checkpoints (safetensors).

The tool is a native program; this package only finds it. `pip install .` puts the `ckptdoctor`
binary where console scripts go (on the PATH); `python -m ckptdoctor ...` runs the same binary.
"""
import os
import shutil
import sys
import sysconfig

__all__ = ["find_ckptdoctor_bin"]


def find_ckptdoctor_bin() -> str:
    """Path of the ckptdoctor binary installed with this package (or, failing that, on PATH)."""
    name = "ckptdoctor" + (sysconfig.get_config_var("EXE") or "")
    candidates = [os.path.join(sysconfig.get_path("scripts"), name)]
    user_scheme = {"nt": "nt_user", "posix": "posix_user"}.get(os.name)
    if user_scheme:
        candidates.append(os.path.join(sysconfig.get_path("scripts", scheme=user_scheme), name))
    candidates.append(os.path.join(os.path.dirname(sys.executable), name))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which("ckptdoctor")
    if found:
        return found
    raise FileNotFoundError(f"ckptdoctor binary not found (looked in {', '.join(candidates)})")
