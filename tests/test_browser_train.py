"""The Train page in a real Chromium: Start, watch the chart move, Stop, reload."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Number of points in the per-batch chart (the last Plotly chart on the page).
BATCH_POINTS = """() => {
    const plots = document.querySelectorAll('.js-plotly-plot');
    if (!plots.length) return -1;
    // _fullData: the traces as drawn (x arrives as binary and is decoded there).
    const data = plots[plots.length - 1]._fullData || [];
    return data.length && data[0].x ? data[0].x.length : -1;
}"""


def test_start_watch_stop_reload(app_url, page, artifacts_dir):
    page.goto(f"{app_url}/train")
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=120_000)
    # 28×28 digits: slow enough to watch for a while.
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="Digits 28×28 (built in)").click()
    page.get_by_text("1,437 training and 360 test images, 28×28×1").wait_for(timeout=60_000)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("200")
    epochs.press("Tab")  # commit the value (Enter would submit the form)
    start.click()

    heading = page.get_by_text(re.compile(r"Run [0-9a-f]{6}: (queued|training)")).first
    heading.wait_for(timeout=120_000)
    run_id = re.search(r"Run ([0-9a-f]{6})", heading.inner_text()).group(1)

    # The chart changes at least twice while the run trains (the fragment polls).
    seen = []
    for _ in range(3):
        previous = seen[-1] if seen else -1
        page.wait_for_function(f"({BATCH_POINTS})() > {previous}", timeout=120_000)
        seen.append(page.evaluate(BATCH_POINTS))
    assert seen == sorted(set(seen)) and len(seen) == 3, seen
    page.screenshot(path=str(artifacts_dir / "train_live.png"), full_page=True)

    page.get_by_role("button", name="Stop").first.click()
    page.get_by_text(f"Run {run_id}: stopped").wait_for(timeout=120_000)

    assert "session=" in page.url  # the tab's token, which the reload keeps
    page.reload()
    page.get_by_text(f"Run {run_id}: stopped").wait_for(timeout=120_000)
    # The runs table (its accessible rows are hidden behind the canvas grid).
    rows = "() => [...document.querySelectorAll('[data-testid=stDataFrame] [role=row]')]"
    page.wait_for_function(f"({rows})().length >= 2", timeout=60_000)
    texts = page.evaluate(f"() => ({rows})().map(row => row.textContent)")
    assert any(run_id in text and "stopped" in text for text in texts), texts
    page.screenshot(path=str(artifacts_dir / "train_after_reload.png"), full_page=True)
    assert not page.console_errors, page.console_errors
