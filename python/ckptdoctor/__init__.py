"""ckptdoctor: verify and repair quantized LLM checkpoints (safetensors).

In process (no subprocess), through the native module ckptdoctor._core:

    import ckptdoctor
    report = ckptdoctor.scan("path/to/checkpoint", select=["CKD5"], deep=False)
    for f in report.findings:
        print(f.code, f.name, f.severity, f.file, f.tensor, f.message, f.fix)
    print([(e.engine, e.verdict) for e in report.engines], report.errors, report.failed)

    result = ckptdoctor.compare("quantized", source="bf16")
    print(result.passed, result.modules[0].rel_error)

    info = ckptdoctor.inspect("path")           # the JSON of `ckptdoctor inspect`, as a dict
    changes = ckptdoctor.diff("a", "b")         # the JSON of `ckptdoctor diff`, as a dict

A checkpoint that cannot be read (or an unknown rule, a bad settings file) raises
ckptdoctor.Error with the one-line message the CLI prints.

The command line is the native `ckptdoctor` binary inside this package; the `ckptdoctor`
command and `python -m ckptdoctor` run it.
"""
import os
import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ckptdoctor._core import (
        CompareReport,
        EngineReason,
        EngineVerdict,
        ErrorSummary,
        Finding,
        ModuleResult,
        NotRun,
        RemoteTransfer,
        Rule,
        ScanReport,
        UnpairedModule,
        __version__,
        compare,
        diff,
        inspect,
        rules,
        scan,
    )

__all__ = [
    "CompareReport",
    "EngineReason",
    "EngineVerdict",
    "Error",
    "ErrorSummary",
    "Finding",
    "ModuleResult",
    "NotRun",
    "RemoteTransfer",
    "Rule",
    "ScanReport",
    "UnpairedModule",
    "__version__",
    "compare",
    "diff",
    "find_ckptdoctor_bin",
    "inspect",
    "rules",
    "scan",
]


class Error(RuntimeError):
    """ckptdoctor could not run: an unreadable checkpoint, a bad rule or settings file, an unknown
    rule name. The message is the one line the CLI prints after "ckptdoctor: error:"."""


# The native module loads on first use, so the `ckptdoctor` launcher (which imports this package
# to find the binary) starts as fast as Python does.
_NATIVE = frozenset(__all__) - {"Error", "find_ckptdoctor_bin"}


def __getattr__(name: str):
    if name in _NATIVE:
        from ckptdoctor import _core

        value = getattr(_core, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ckptdoctor' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _NATIVE)


def _is_native(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def find_ckptdoctor_bin() -> str:
    """Path of the native ckptdoctor binary: the one in this package, else one on PATH.

    The `ckptdoctor` command a wheel installs is a Python launcher for the packaged binary, so a
    binary found on PATH counts only when it is native (never the launcher itself).
    """
    packaged = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "ckptdoctor")
    if os.path.isfile(packaged) and os.access(packaged, os.X_OK):
        return packaged
    found = shutil.which("ckptdoctor")
    if found and _is_native(found):
        return found
    raise FileNotFoundError(f"ckptdoctor binary not found (looked in {packaged} and on PATH)")
