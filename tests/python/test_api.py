"""The Python API (ckptdoctor.scan / compare / rules) against the CLI installed beside it.

Run from the repository root in a venv where the wheel is installed (tests/wheel_test.sh):
the in-process results must equal what `ckptdoctor ... --format json` prints for the same
checkpoint, so nothing here hard-codes a result the library computes.
"""
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest

import ckptdoctor

DEMO = "fixtures/demo"
CMP = pathlib.Path("fixtures/compare")


def cli_json(*args):
    run = subprocess.run([ckptdoctor.find_ckptdoctor_bin(), *args, "--format", "json"],
                         capture_output=True, text=True, check=False)
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)


def finding_tuple(f):
    if isinstance(f, dict):
        return (f["code"], f["name"], f["severity"], f["file"], f["tensor"], f["message"])
    return (f.code, f.name, f.severity, f.file, f.tensor, f.message)


def test_scan_matches_the_cli():
    report = ckptdoctor.scan(DEMO)
    doc = cli_json("scan", DEMO)
    assert [finding_tuple(f) for f in report.findings] == [finding_tuple(f) for f in doc["findings"]]
    assert len(report.findings) > 0
    summary = doc["summary"]
    assert (report.errors, report.warnings, report.infos) == (
        summary["errors"], summary["warnings"], summary["infos"])
    assert (report.files, report.tensors, report.tensor_bytes) == (
        summary["files"], summary["tensors"], summary["tensor_bytes"])
    assert report.quantization == summary["quantization"]
    assert report.failed is summary["failed"] is True
    assert report.fail_on == "error"
    assert report.checkpoint == DEMO and report.source is None and report.transfer is None
    assert [(n.code, n.reason) for n in report.not_run] == [
        (n["code"], n["reason"]) for n in doc["not_run"]]
    assert report.dtype_bytes == {k: v["bytes"] for k, v in doc["dtype_bytes"]["checkpoint"].items()}
    assert [(e.engine, e.version, e.verdict, [(r.rule, r.message) for r in e.reasons])
            for e in report.engines] == [
        (e["engine"], e["version"], e["verdict"], [(r["rule"], r["message"]) for r in e["reasons"]])
        for e in doc["engines"]]
    assert {e.engine for e in report.engines} == {"vllm", "sglang", "transformers"}


def test_counts_add_up():
    report = ckptdoctor.scan(DEMO)
    for severity, count in (("error", report.errors), ("warning", report.warnings),
                            ("info", report.infos)):
        listed = sum(f.severity == severity for f in report.findings)
        noted = sum(t.omitted for t in report.truncated if t.severity == severity)
        assert listed + noted == count


def test_finding_fields_and_fix():
    report = ckptdoctor.scan(DEMO)
    fix_of = {r.code: r.fix for r in ckptdoctor.rules()}
    for f in report.findings:
        assert f.code.startswith("CKD") and len(f.code) == 6
        assert f.severity in ("error", "warning", "info")
        assert f.fix == fix_of[f.code]
        assert f.omitted == 0
        assert f.code in repr(f)
    assert "key-layout-mismatch" in {f.name for f in report.findings}
    assert "safe" in {f.fix for f in report.findings}  # the demo has safely fixable findings


def test_select_and_ignore():
    only = ckptdoctor.scan(DEMO, select=["key-layout-mismatch"])
    assert {f.name for f in only.findings} == {"key-layout-mismatch"}
    full = {f.name for f in ckptdoctor.scan(DEMO).findings}
    without = {f.name for f in ckptdoctor.scan(DEMO, ignore=["key-layout-mismatch", "CKD5"]).findings}
    assert "key-layout-mismatch" not in without and without < full
    assert not any(f.startswith("CKD5") for f in ckptdoctor.scan(DEMO, ignore=["CKD5"]).rules)
    # Comma lists, as on the command line.
    assert {f.name for f in ckptdoctor.scan(DEMO, select=["key-layout-mismatch,CKD5"]).findings} == {
        f.name for f in ckptdoctor.scan(DEMO, select=["key-layout-mismatch", "CKD5"]).findings}


def test_engines_and_fail_on():
    report = ckptdoctor.scan(DEMO, engines=["transformers"], fail_on="never")
    assert [e.engine for e in report.engines] == ["transformers"]
    assert report.failed is False and report.fail_on == "never"
    assert report.errors > 0


def test_deep_runs_the_data_rules():
    shallow = ckptdoctor.scan(DEMO)
    deep = ckptdoctor.scan(DEMO, deep=True)
    assert any("--deep" in n.reason for n in shallow.not_run)
    assert not any("--deep" in n.reason for n in deep.not_run)
    assert len(deep.rules) > len(shallow.rules)


def test_source_and_pathlike():
    quant = CMP / "ct-nvfp4"
    report = ckptdoctor.scan(quant, source=CMP / "source")
    assert report.source == str(CMP / "source")
    doc = cli_json("scan", str(quant), "--source", str(CMP / "source"))
    assert [finding_tuple(f) for f in report.findings] == [finding_tuple(f) for f in doc["findings"]]


def test_render_formats():
    report = ckptdoctor.scan(DEMO)
    doc = json.loads(report.render("json"))
    assert [finding_tuple(f) for f in doc["findings"]] == [finding_tuple(f) for f in report.findings]
    assert json.loads(report.render("sarif"))["version"] == "2.1.0"
    assert report.render("junit").startswith("<?xml")
    assert "key-layout-mismatch" in report.render()
    with pytest.raises(ValueError, match="unknown format"):
        report.render("yaml")


def test_errors_are_one_line_python_exceptions(tmp_path):
    missing = tmp_path / "does-not-exist"
    with pytest.raises(ckptdoctor.Error) as err:
        ckptdoctor.scan(missing)
    message = str(err.value)
    assert str(missing) in message and "\n" not in message
    assert isinstance(err.value, RuntimeError)
    with pytest.raises(ckptdoctor.Error, match="did you mean repeated-prefix"):
        ckptdoctor.scan(DEMO, select=["repeated-prefixx"])
    with pytest.raises(ckptdoctor.Error, match="did you mean sglang"):
        ckptdoctor.scan(DEMO, engines=["sglng"])
    with pytest.raises(ValueError, match="fail_on"):
        ckptdoctor.scan(DEMO, fail_on="fatal")
    with pytest.raises(TypeError):
        ckptdoctor.scan(DEMO, select="CKD5")  # a list of entries, not one string
    bad_rules = tmp_path / "bad.json"
    bad_rules.write_text("{not json")
    with pytest.raises(ckptdoctor.Error, match="bad.json: not valid JSON"):
        ckptdoctor.scan(DEMO, rules=[bad_rules])


def test_project_settings(tmp_path):
    settings = tmp_path / "ckptdoctor.json"
    settings.write_text(json.dumps({"select": ["key-layout-mismatch"], "fail_on": "never"}))
    report = ckptdoctor.scan(DEMO, config=settings)
    assert {f.name for f in report.findings} == {"key-layout-mismatch"} and not report.failed
    # Arguments win over the settings, as options do on the command line.
    report = ckptdoctor.scan(DEMO, config=settings, select=["CKD5"], fail_on="error")
    assert "key-layout-mismatch" not in {f.name for f in report.findings} and report.failed


def test_scans_run_in_parallel_threads():
    expected = [finding_tuple(f) for f in ckptdoctor.scan(DEMO).findings]
    results = [None] * 4

    def worker(i):
        results[i] = [finding_tuple(f) for f in ckptdoctor.scan(DEMO).findings]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_compare_matches_the_cli():
    quant, source = CMP / "modelopt-nvfp4-broken", CMP / "source"
    result = ckptdoctor.compare(quant, source=source, device="cpu")
    doc = cli_json("compare", str(quant), "--source", str(source), "--device", "cpu")
    assert [(m.module, m.format, m.passed) for m in result.modules] == [
        (t["module"], t["format"], t["passed"]) for t in doc["tensors"]]
    for m, t in zip(result.modules, doc["tensors"]):
        assert m.rel_error == pytest.approx(t["rel_error"], rel=1e-9)
        assert m.passed == (m.rel_error <= m.limit and m.nan == 0 and m.inf == 0)
    assert result.failed == doc["summary"]["failed"] > 0
    assert result.passed is False
    assert set(result.by_format) == set(doc["summary"]["formats"])
    assert result.by_format["nvfp4"].failed == result.failed
    assert json.loads(result.render("json"))["summary"]["failed"] == result.failed
    assert "<svg" in result.render("html")


def test_compare_passes_a_healthy_checkpoint_and_reads_limits(tmp_path):
    healthy = ckptdoctor.compare(CMP / "ct-nvfp4", source=CMP / "source", device="cpu")
    assert healthy.passed and healthy.failed == 0 and len(healthy.modules) > 0
    assert healthy.undecodable == []
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"params": {"roundtrip-error": {"max_rel_error": {"nvfp4": 1e-6}}}}))
    failing = ckptdoctor.compare(CMP / "ct-nvfp4", source=CMP / "source", config=strict, device="cpu")
    assert not failing.passed and failing.failed == len(failing.modules)
    assert all(m.limit == 1e-6 for m in failing.modules)


def test_compare_errors():
    with pytest.raises(ckptdoctor.Error, match="nothing to dequantize"):
        ckptdoctor.compare(CMP / "source", source=CMP / "source")
    with pytest.raises(ckptdoctor.Error, match="download the checkpoints first"):
        ckptdoctor.compare("hf://org/x", source=CMP / "source")
    with pytest.raises(ValueError, match="device"):
        ckptdoctor.compare(CMP / "ct-nvfp4", source=CMP / "source", device="tpu")
    with pytest.raises(TypeError):
        ckptdoctor.compare(CMP / "ct-nvfp4")  # source is required


def test_rules_list():
    rules = ckptdoctor.rules()
    doc = json.loads(subprocess.run([ckptdoctor.find_ckptdoctor_bin(), "rules", "--format", "json"],
                                    capture_output=True, text=True, check=True).stdout)
    assert [(r.code, r.name, r.family, r.severity, r.fix, r.tier, r.summary) for r in rules] == [
        (r["code"], r["name"], r["family"], r["severity"], r["fix"], r["tier"], r["summary"])
        for r in doc]


def test_version_and_typing():
    assert ckptdoctor.__version__ == "0.1.0"
    package = pathlib.Path(ckptdoctor.__file__).parent
    assert (package / "py.typed").is_file()
    stub = (package / "_core.pyi").read_text()
    for name in ("def scan(", "def compare(", "def rules(", "class Finding", "class ScanReport",
                 "class CompareReport", "class EngineVerdict"):
        assert name in stub, name


def test_cli_entry_points():
    # The launcher imports the package to find the binary: the native module must not load then.
    subprocess.run([sys.executable, "-c", "import sys, ckptdoctor; "
                    "assert 'ckptdoctor._core' not in sys.modules"], check=True)
    run = subprocess.run(["ckptdoctor", "--version"], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "ckptdoctor 0.1.0"
    run = subprocess.run([sys.executable, "-m", "ckptdoctor", "scan", DEMO, "--format", "json"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1 and json.loads(run.stdout)["summary"]["failed"] is True
    # The installed CLI names no source-tree path for a built-in rule.
    run = subprocess.run(["ckptdoctor", "rules", "repeated-prefix"], capture_output=True, text=True,
                         check=True)
    assert "Defined in: the built-in rules (" in run.stdout and "rules/" not in run.stdout
    assert os.path.basename(ckptdoctor.find_ckptdoctor_bin()) == "ckptdoctor"


def test_inspect_and_diff_match_the_cli():
    source, quant = CMP / "source", CMP / "modelopt-nvfp4-broken"
    info = ckptdoctor.inspect(quant)
    assert info == cli_json("inspect", str(quant))
    assert ckptdoctor.inspect(quant, filters=["*.weight_scale_2"], tensors=True) == cli_json(
        "inspect", str(quant), "--filter", "*.weight_scale_2", "--tensors")
    changes = ckptdoctor.diff(source, quant)
    assert changes == cli_json("diff", str(source), str(quant))
    assert changes != ckptdoctor.diff(source, source)
    with pytest.raises(ckptdoctor.Error, match="no such file"):
        ckptdoctor.inspect("/nonexistent/checkpoint")
