"""The HTML report in a real browser: one self-contained file whose first screen shows the scorecard and whose
tables fit the page width (headless Chromium; skipped without it, CI installs it best effort)."""
import json
import re
import shutil
import subprocess

import pytest

from harness.findings import write_findings
from reports.build import build_report
from tests.test_report import _grader_findings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
PROBE = """<script>window.addEventListener("load", function () {
  var card = document.getElementById("scorecard").getBoundingClientRect();
  var wide = [];
  document.querySelectorAll("table").forEach(function (t, i) {
    if (t.scrollWidth > document.documentElement.clientWidth + 1) { wide.push(i); }
  });
  var out = document.createElement("pre"); out.id = "probe";
  out.textContent = JSON.stringify({scorecard_top: card.top, scorecard_height: card.height,
                                    screen: window.innerHeight, wide: wide});
  document.body.appendChild(out);
});</script></body>"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_the_html_opens_alone_with_the_scorecard_on_the_first_screen_and_no_table_overflows(tmp_path):
    path = write_findings(tmp_path / "findings.json", _grader_findings(), {})
    out = build_report([path], tmp_path / "out")
    alone = tmp_path / "alone" / "report.html"  # no figures folder beside it: everything is embedded
    alone.parent.mkdir()
    alone.write_text(out["html"].read_text().replace("</body>", PROBE, 1))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,800",
                          "--virtual-time-budget=5000", "--dump-dom", alone.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert 0 <= probe["scorecard_top"] < probe["screen"]
    assert probe["wide"] == []
