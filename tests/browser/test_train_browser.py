"""The Train page in a real Chromium: Start, watch the chart move, Stop, reload."""

from __future__ import annotations

import re

import pytest
from conftest import page_errors, record_browser_errors
from playwright.sync_api import expect
from session_driver import start_training

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The live per-batch curve: a canvas whose accessible name says what it shows.
LIVE_CURVE_NAME = re.compile(r"Training loss per batch, [\d,]+ batch(es)? so far")


def batches_so_far(label: str) -> int:
    return int(re.search(r"([\d,]+) batch(es)? so far", label).group(1).replace(",", ""))


def test_start_watch_stop_reload(app_url, page, browser, artifacts_dir):
    page.goto(f"{app_url}/train")
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=120_000)
    # 28×28 digits: slow enough to watch for a while.
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name="Digits 28×28 (built in)").click()
    page.get_by_text("1,437 training and 360 test images, 28×28×1").wait_for(timeout=60_000)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("200")
    epochs.press("Enter")  # applies the value: it must not start a run (issue 23)
    expect(epochs).to_have_value("200")
    page.wait_for_timeout(2_000)  # the rerun Enter caused has drawn the page
    expect(page.get_by_text(re.compile(r"Run [0-9a-f]{6}: "))).to_have_count(0)
    start.click()

    heading = page.get_by_text(re.compile(r"Run [0-9a-f]{6}: (queued|training)")).first
    heading.wait_for(timeout=120_000)
    run_id = re.search(r"Run ([0-9a-f]{6})", heading.inner_text()).group(1)

    # The curve changes at least twice while the run trains (the fragment polls).
    curve = page.get_by_role("img", name=LIVE_CURVE_NAME)
    curve.wait_for(timeout=120_000)
    seen = [batches_so_far(curve.get_attribute("aria-label"))]
    for _ in range(2):
        label = curve.get_attribute("aria-label")
        expect(curve).not_to_have_attribute("aria-label", label, timeout=60_000)
        seen.append(batches_so_far(curve.get_attribute("aria-label")))
    assert seen == sorted(set(seen)), seen
    # Each epoch's loss comes in while the run trains, on its canvas and in the line
    # under the progress bar, and keeps up with it.
    epoch_loss = page.get_by_role("img", name=re.compile(r"Loss per epoch, [\d,]+ epochs? so far"))
    epoch_loss.wait_for(timeout=60_000)
    label = epoch_loss.get_attribute("aria-label")
    expect(epoch_loss).not_to_have_attribute("aria-label", label, timeout=60_000)
    expect(page.get_by_text(re.compile(r"After epoch \d+: training accuracy"))).to_be_visible()
    expect(page.get_by_text(f"Run {run_id}: training")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "train_live.png"), full_page=True)

    # Dragging across the curve zooms in, and the zoom survives the next updates.
    curve.scroll_into_view_if_needed()
    box = curve.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    expect(curve).to_have_attribute("aria-label", re.compile("Zoomed to batches"), timeout=10_000)
    zoomed = curve.get_attribute("aria-label")
    expect(curve).not_to_have_attribute("aria-label", zoomed, timeout=60_000)  # newer batches...
    expect(curve).to_have_attribute("aria-label", re.compile("Zoomed to batches"))  # ...same zoom
    curve.dblclick()
    expect(curve).not_to_have_attribute("aria-label", re.compile("Zoomed"), timeout=10_000)

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
    assert page_errors(page) == []

    # The same link in another browser (no cookie of this one) opens a new, empty
    # session: the token alone grants nothing.
    stranger_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        stranger = stranger_context.new_page()
        stranger.goto(page.url)
        stranger.get_by_role("button", name="Start training").wait_for(timeout=120_000)
        expect(stranger.get_by_text(f"Run {run_id}")).to_have_count(0)
        expect(stranger).not_to_have_url(page.url, timeout=30_000)  # a token of its own
    finally:
        stranger_context.close()
    # ...while this browser still finds its run after another reload.
    page.reload()
    page.get_by_text(f"Run {run_id}: stopped").wait_for(timeout=120_000)


def test_two_learners_share_one_training_and_stop_on_one_leaves_the_other(app_url, page, browser):
    """Identical runs of two learners are one training; the follower says so, and its
    Stop keeps what was trained so far while the other learner's run trains on."""
    first_id = start_training(page, app_url, seed=4242, epochs=200)
    page.get_by_text(f"Run {first_id}: training").wait_for(timeout=180_000)
    other_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = other_context.new_page()
        other.console_errors = record_browser_errors(other)
        second_id = start_training(other, app_url, seed=4242, epochs=200)
        assert second_id != first_id
        other.get_by_text("This run follows the training of another learner's run").wait_for(
            timeout=60_000
        )
        expect(other.get_by_role("button", name="Train separately")).to_be_visible()
        other.get_by_role("button", name="Stop").first.click()
        other.get_by_text(f"Run {second_id}: stopped").wait_for(timeout=60_000)
        expect(
            other.get_by_text("this run keeps a copy of the weights trained so far")
        ).to_be_visible()
        # The first learner's run goes on: its live curve keeps growing.
        curve = page.get_by_role("img", name=LIVE_CURVE_NAME)
        label = curve.get_attribute("aria-label")
        expect(curve).not_to_have_attribute("aria-label", label, timeout=60_000)
        expect(page.get_by_text(f"Run {first_id}: training")).to_be_visible()
        assert page_errors(other) == []
    finally:
        other_context.close()
    page.get_by_role("button", name="Stop").first.click()
    page.get_by_text(f"Run {first_id}: stopped").wait_for(timeout=120_000)
    assert page_errors(page) == []
