#!/usr/bin/env python3
"""The compare HTML page as a browser lays it out (issue 14 #11), for tests/compare_html_browser.sh.

  compare_html_check.py probe PAGE OUT    writes PAGE plus a script that, once the page's own
                                          script ran and the layout is done, measures the page
                                          and writes what it found as JSON into <pre id=probe>
  compare_html_check.py check DOM PNG     reads that JSON from Chromium's --dump-dom output and
                                          checks it; checks the screenshot's size

Standard library only."""
import html
import json
import re
import struct
import sys

PROBE = r"""<script>
(() => {
  const box = e => { const r = e.getBoundingClientRect(); return {w: r.width, h: r.height}; };
  const clipped = e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1;
  const out = {viewport: document.documentElement.clientWidth,
               page_scroll_width: document.documentElement.scrollWidth};
  const legend = document.getElementById('legend');
  out.legend = legend ? Array.from(legend.rows, r => ({
    cells: Array.from(r.cells, c => c.textContent),
    colours: Array.from(r.cells, c => getComputedStyle(c).backgroundColor),
    clipped: Array.from(r.cells).some(clipped)})) : null;
  const heat = document.getElementById('heatmap');
  if (heat) {
    out.heat_columns = Array.from(heat.rows[0].cells).slice(1).map(c => c.textContent);
    out.heat_rows = Array.from(heat.rows).slice(1).map(r => ({
      layer: r.cells[0].textContent,
      cells: Array.from(r.cells).slice(1).map(c => ({
        text: c.textContent, colour: getComputedStyle(c).backgroundColor,
        ink: getComputedStyle(c).color, clipped: clipped(c), ...box(c)}))}));
  }
  out.histograms = Array.from(document.querySelectorAll('.hists svg'), s => ({
    texts: Array.from(s.querySelectorAll('text'), t => t.textContent),
    bars: Array.from(s.querySelectorAll('rect'), r => r.getBBox().height),
    ...box(s)}));
  const layers = document.getElementById('layers');
  out.layers = layers ? Array.from(layers.tBodies[0].rows, r => r.cells[0].textContent) : null;
  const modules = document.getElementById('modules');
  if (modules) {
    out.modules_width = box(modules).w;
    const column = i => Array.from(modules.tBodies[0].rows, r => r.cells[i].textContent);
    const values = i => Array.from(modules.tBodies[0].rows, r => parseFloat(r.cells[i].dataset.v));
    out.modules_initial = column(0);
    out.modules_errors_initial = values(4);
    modules.tHead.rows[0].cells[0].click();
    out.modules_by_name_1 = column(0);
    modules.tHead.rows[0].cells[0].click();
    out.modules_by_name_2 = column(0);
    modules.tHead.rows[0].cells[4].click();
    out.modules_errors_1 = values(4);
    out.modules_error_texts = column(4);
  }
  out.summary = document.querySelector('p').textContent;
  out.external = Array.from(document.querySelectorAll('[src],[href],link')).length;
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.append(pre);
})();
</script>
"""

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
    print(("ok   " if cond else "FAIL ") + what)


def probe(page, out):
    text = open(page, encoding="utf-8").read()
    at = text.rindex("</body>")
    open(out, "w", encoding="utf-8").write(text[:at] + PROBE + text[at:])


NUMBER = re.compile(r"^\d+\.\d\d(e\d+)?%$")


def check(dom_path, png_path):
    dom = open(dom_path, encoding="utf-8").read()
    m = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom, re.S)
    expect(m is not None, "the probe ran in the browser and wrote its findings into the DOM")
    if not m:
        return
    p = json.loads(html.unescape(m.group(1)))
    vw = p["viewport"]
    expect(p["external"] == 0, "self-contained: no src/href/link element")
    expect(p["page_scroll_width"] <= vw + 1, f"no sideways page scroll ({p['page_scroll_width']} <= {vw})")

    # Legend: colours with the values they stand for.
    legend = p["legend"]
    expect(bool(legend), "a colour legend")
    if legend:
        row = legend[0]["cells"]
        expect(row[0] == "nvfp4 (limit 25.00%)", f"legend row names the format and its limit: {row[0]!r}")
        expect(row[1:] == ["0.00%", "6.25%", "12.50%", "18.75%", "25.00%", "over 25.00% (fails)"],
               f"legend values: {row[1:]}")
        expect(len(set(legend[0]["colours"][1:])) == 6, "legend: six distinct colours")
        expect(not legend[0]["clipped"], "legend text not clipped")

    # Heatmap: model order, numbers in the cells, readable and visible.
    cols = p.get("heat_columns", [])
    want = ["self_attn.q_proj", "self_attn.o_proj", "mlp.experts.*.gate_proj",
            "mlp.experts.*.up_proj", "mlp.experts.*.down_proj"]
    expect(cols == want, f"heatmap columns in model order: {cols}")
    rows = p.get("heat_rows", [])
    expect([r["layer"] for r in rows] == ["0", "1"], f"heatmap rows by layer: {[r['layer'] for r in rows]}")
    cells = [c for r in rows for c in r["cells"]]
    expect(len(cells) == 10 and all(c["text"] for c in cells), "every heatmap cell holds a value")
    bad = [c["text"] for c in cells if not NUMBER.match(c["text"])]
    expect(not bad, f"heatmap values are short numbers (huge ones in e-notation): {bad}")
    expect(any("e" in c["text"] for c in cells), "the absurd error reads in e-notation (8.13e10%)")
    expect(not any(c["clipped"] for c in cells), "no heatmap number is clipped")
    expect(all(c["w"] >= 30 and c["h"] >= 12 for c in cells), "heatmap cells are laid out with room")
    expect(all(c["colour"] != c["ink"] for c in cells), "heatmap text contrasts with its cell")
    expect(len({c["colour"] for c in cells}) >= 2, "heatmap colours differ between good and failed")

    # Histogram: counts and axes.
    hists = p["histograms"]
    expect(len(hists) == 1, "one histogram per format")
    if hists:
        t = hists[0]["texts"]
        for label in ["modules", "0%", "limit 25.00%", "50.00%", "over", "2"]:
            expect(label in t, f"histogram text {label!r}")
        expect(any(h > 0 for h in hists[0]["bars"]), "histogram bars have height")
        expect(hists[0]["w"] > 300 and hists[0]["h"] > 100, "histogram laid out")

    # Per-layer table, the sortable module list, using the page's width.
    expect(p["layers"] == ["0", "1"], f"per-layer table rows: {p['layers']}")
    n = int(re.search(r"(\d+) modules compared", p["summary"]).group(1))
    names = p.get("modules_initial", [])
    expect(len(names) == n and n > 0, f"all {n} modules listed ({len(names)})")
    expect(p.get("modules_width", 0) >= 0.9 * vw, f"module list uses the page's width ({p.get('modules_width')} of {vw})")
    errs = p.get("modules_errors_initial", [])
    expect(errs == sorted(errs, reverse=True), "module list starts worst first")
    expect(p.get("modules_by_name_1") in (sorted(names), sorted(names, reverse=True)) and
           p.get("modules_by_name_2") == list(reversed(p.get("modules_by_name_1"))),
           "a click on 'module' sorts by name, a second reverses")
    e1 = p.get("modules_errors_1", [])
    expect(e1 in (sorted(errs), sorted(errs, reverse=True)) and len(e1) == len(errs),
           "a click on 'relative error' sorts by value")
    long_texts = [t for t in p.get("modules_error_texts", []) if not NUMBER.match(t)]
    expect(not long_texts, f"module list errors are readable numbers: {long_texts}")

    # The screenshot: a PNG of the window's size.
    data = open(png_path, "rb").read()
    ok = data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24]) if ok else (0, 0)
    expect(ok and w >= 1000 and h >= 1000 and len(data) > 20000, f"screenshot {w}x{h}, {len(data)} bytes")


def main():
    if sys.argv[1] == "probe":
        probe(sys.argv[2], sys.argv[3])
        return 0
    check(sys.argv[2], sys.argv[3])
    print(f"{len(failures)} failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
