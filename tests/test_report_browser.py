"""A real browser opens the real wine run's report from disk with no network possible (headless Chromium inside
`unshare --net` where this machine allows it), and its screenshot shows the DAG and the chart drawn."""
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.png import colours, share_near

SUCCEEDED_FILL, CHOSEN_BAR, OTHER_BAR = (0xE6, 0xF4, 0xEA), (0x1E, 0x8E, 0x3E), (0x8A, 0xB4, 0xF8)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    return found


def no_network() -> list[str]:
    """`unshare --net` when this machine lets the test make a network namespace, else nothing."""
    if shutil.which("unshare") and subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0:
        return ["unshare", "--net"]
    return []


def test_chromium_renders_the_report_from_disk_offline(wine_run, tmp_path):
    _, output, _ = wine_run
    report = Path(output.split("report:")[1].split()[0])
    shot = tmp_path / "report.png"
    command = [*no_network(), chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,760",
               f"--screenshot={shot}", report.as_uri()]
    subprocess.run(command, capture_output=True, timeout=180, check=True)
    counts = colours(shot)
    assert len(counts) > 50                              # not a blank page
    assert share_near(counts, SUCCEEDED_FILL) > 0.01      # the DAG's succeeded task boxes
    assert share_near(counts, CHOSEN_BAR) > 0.001         # the chart's chosen bar (and the boxes' borders)
    assert share_near(counts, OTHER_BAR) > 0.001          # the chart's other candidate's bar
