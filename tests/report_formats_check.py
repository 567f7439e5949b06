"""Checks ckptdoctor's CI report formats with what their consumers use or require.

Usage: report_formats_check.py SARIF JUNIT GITLAB GITHUB
- SARIF: parsed by sarif-pydantic (a third-party SARIF 2.1.0 object model), then every property
  GitHub code scanning requires (ECOSYSTEM.md 2.1) checked present and non-empty.
- JUnit: parsed by junitparser; testcase names unique per suite (GitLab keeps only the first).
- GitLab Code Quality: the fields GitLab reads, severities from its list, unique fingerprints.
- GitHub workflow commands: each line is a well-formed ::error/::warning/::notice command with
  escaped properties, and at most 10 error and 10 warning annotations (the per-step cap).
"""
import json
import re
import sys

from junitparser import JUnitXml, Skipped
from sarif_pydantic import Sarif


def check_sarif(path):
    doc = json.load(open(path))
    Sarif.model_validate(doc)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] and (driver.get("semanticVersion") or driver.get("version"))
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids)) and ids
    for rule in driver["rules"]:
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"].strip(), (rule["id"], key)
        assert len(rule["shortDescription"]["text"]) <= 1024
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
    # Rules that did not run are configuration notifications, never listed rules (a listed rule
    # without results reads as a pass); a capped check's unlisted findings are an execution
    # notification, never a result.
    (invocation,) = run["invocations"]
    not_run = {n["associatedRule"]["id"] for n in invocation.get("toolConfigurationNotifications", [])}
    assert not (not_run & set(ids)), not_run & set(ids)
    for note in invocation.get("toolExecutionNotifications", []):
        assert note["associatedRule"]["id"] in ids and "more" in note["message"]["text"], note
    hashes = set()
    for result in run["results"]:
        assert result["message"]["text"].strip()
        assert not result["message"]["text"].startswith("... and"), result
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert 1 <= len(result["locations"]) <= 10
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri and not uri.startswith("/"), uri  # repository-relative
        h = result["partialFingerprints"]["primaryLocationLineHash"]
        assert re.fullmatch(r"[0-9a-f]{16}:\d+", h) and h not in hashes, h
        hashes.add(h)
    return len(run["results"])


def check_junit(path):
    xml = JUnitXml.fromfile(path)
    cases = 0
    for suite in xml:
        names = [case.name for case in suite]
        assert len(names) == len(set(names)), suite.name
        for case in suite:
            for r in case.result:  # a skipped rule says why it did not run
                assert not isinstance(r, Skipped) or "did not run" in (r.message or ""), case.name
        cases += len(names)
    assert cases == xml.tests, (cases, xml.tests)
    return cases


def check_gitlab(path):
    issues = json.load(open(path))
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(fingerprints) == len(set(fingerprints))
    for i in issues:
        assert i["description"] and i["check_name"]
        assert i["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert i["location"]["path"] and i["location"]["lines"]["begin"] >= 1
    return len(issues)


def check_github(path):
    counts = {"error": 0, "warning": 0, "notice": 0}
    for line in open(path).read().splitlines():
        if not line.startswith("::"):
            continue
        m = re.fullmatch(r"::(error|warning|notice) (?:file=([^,:]+),line=(\d+),)?title=([^,:]+)::(.+)", line)
        assert m, line
        assert "\n" not in m.group(5) and "\r" not in m.group(5)
        counts[m.group(1)] += 1
    assert counts["error"] <= 10 and counts["warning"] <= 10, counts
    return sum(counts.values())


if __name__ == "__main__":
    sarif, junit, gitlab, github = sys.argv[1:5]
    print(f"sarif: {check_sarif(sarif)} results; junit: {check_junit(junit)} testcases; "
          f"gitlab: {check_gitlab(gitlab)} issues; github: {check_github(github)} annotations")
