#!/usr/bin/env python3
"""Reads a --format markdown report back and checks it against the JSON report of the same run.

    markdown_check.py scan REPORT.md SCAN.json
    markdown_check.py compare REPORT.md COMPARE.json

A small GitHub-flavoured-Markdown reader (stdlib only, so CI needs no extra package): headings,
pipe tables (every row as many cells as its header, a valid delimiter row), list items, and the
inline HTML (<details>, <summary>, <sub>, <br>) balanced. Backslash escapes are undone as
CommonMark does, so the text read back must equal the JSON's names and messages. The numbers read
back (summary counts, per-rule counts, per-format counts) must equal the JSON's.
"""
import html.parser
import json
import re
import sys

PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def unescape(text):
    return re.sub(r"\\([" + re.escape(PUNCT) + "])", r"\1", text)


def printable(text):
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()), text)


def split_row(line):
    """Cells of a pipe-table row, split on pipes that are not backslash-escaped."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, cur, i = [], "", 1
    while i < len(line) - 1:
        if line[i] == "\\" and i + 1 < len(line) - 1:
            cur += line[i : i + 2]
            i += 2
            continue
        if line[i] == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += line[i]
        i += 1
    cells.append(cur.strip())
    return cells


def parse(text):
    """Blocks: ('heading', level, text), ('table', header, rows), ('item', text)."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            table = []
            while i < len(lines) and lines[i].startswith("|"):
                table.append(split_row(lines[i]))
                i += 1
            header, delim, rows = table[0], table[1], table[2:]
            assert len(delim) == len(header), ("delimiter row", header, delim)
            assert all(re.fullmatch(r":?-+:?", d) for d in delim), delim
            for row in rows:
                assert len(row) == len(header), ("row has", len(row), "cells, header", header, row)
            blocks.append(("table", [unescape(h) for h in header], [[unescape(c) for c in r] for r in rows]))
            continue
        m = re.match(r"(#{1,6}) (.*)$", line)
        if m:
            blocks.append(("heading", len(m.group(1)), unescape(m.group(2))))
        elif line.startswith("- "):
            blocks.append(("item", unescape(line[2:])))
        i += 1
    return blocks


class TagBalance(html.parser.HTMLParser):
    VOID = {"br"}

    def __init__(self):
        super().__init__()
        self.stack = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, ("unbalanced </%s>" % tag, self.stack)
        self.stack.pop()


def check_html(text):
    # Escaped text (\<) is not a tag: drop escaped characters before the HTML reader sees them.
    parser = TagBalance()
    parser.feed(re.sub(r"\\.", "", text))
    parser.close()
    assert not parser.stack, ("unclosed", parser.stack)
    opened = text.count("<details>")
    assert opened == text.count("</details>") == len(re.findall(r"<details><summary>[^<]+</summary>", text))


def tables(blocks, first_header):
    return [b for b in blocks if b[0] == "table" and b[1][0] == first_header]


def check_findings(blocks, findings, truncated):
    """The per-rule table and sections against the JSON's findings and truncation notes."""
    want = {}
    for f in findings:
        want[f["code"]] = want.get(f["code"], 0) + 1
    for t in truncated:
        want[t["code"]] = want.get(t["code"], 0) + t["omitted"]
    by_rule = tables(blocks, "severity")
    if not want:
        assert not by_rule
        return
    assert len(by_rule) == 1, "one findings-by-rule table"
    got = {row[2]: int(row[3]) for row in by_rule[0][2]}
    assert got == want, (got, want)
    for code, count in want.items():
        heads = [b for b in blocks if b[0] == "heading" and b[1] == 4 and f"({code}) ×{count}" in b[2]]
        assert len(heads) == 1, ("section for", code, count)
    items = {b[1] for b in blocks if b[0] == "item"}
    listed = {}
    for f in findings:  # the first 200 of each rule are listed (the rest counted)
        listed[f["code"]] = listed.get(f["code"], 0) + 1
        if listed[f["code"]] > 200:
            continue
        where = " · ".join(x for x in (f["file"], f["tensor"]) if x) or "(checkpoint)"
        # Control characters from the checkpoint are shown escaped, as in every text report.
        line = printable(f"{where}: {f['message']}")
        assert line in items, ("finding not listed", line)


def main():
    mode, md_path, json_path = sys.argv[1:4]
    text = open(md_path, encoding="utf-8").read()
    doc = json.load(open(json_path))
    blocks = parse(text)
    check_html(text)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text), "a raw control character"
    assert blocks[0][0] == "heading" and blocks[0][1] == 2, blocks[0]
    summary = tables(blocks, "errors")
    assert len(summary) == 1 and len(summary[0][2]) == 1, "one summary table, one row"
    errors, warnings, infos, gate = summary[0][2][0]
    gate = gate.replace("**", "")  # the verdict is in bold
    if mode == "scan":
        s = doc["summary"]
        assert (int(errors), int(warnings), int(infos)) == (s["errors"], s["warnings"], s["infos"])
        assert gate.startswith("FAIL" if s["failed"] else "pass"), gate
        assert blocks[0][2].startswith("ckptdoctor scan of " + doc["checkpoint"]), blocks[0]
        check_findings(blocks, doc["findings"], doc["truncated"])
        engines = tables(blocks, "engine")
        assert [r[0] for r in engines[0][2]] == [e["engine"] for e in doc["engines"]] if doc["engines"] else not engines
        if doc["engines"]:
            assert [r[2] for r in engines[0][2]] == [e["verdict"] for e in doc["engines"]]
    else:
        s = doc["summary"]
        failing = [t for t in doc["tensors"] if not t["passed"]]
        assert int(errors) == len(failing) + s["undecodable"], (errors, s)
        assert gate.startswith("FAIL" if failing or s["undecodable"] else "pass"), gate
        formats = tables(blocks, "format")
        assert len(formats) == 1
        got = {r[0]: (int(r[1]), int(r[2])) for r in formats[0][2]}
        want = {k: (v["modules"], v["failed"]) for k, v in s["formats"].items()}
        assert got == want, (got, want)
        items = {b[1] for b in blocks if b[0] == "item"}
        for t in failing:
            assert any(i.startswith(f"{t['module']}: {t['format']} relative error") for i in items), t["module"]
    print(f"markdown {mode}: {len(blocks)} blocks read back")


if __name__ == "__main__":
    main()
