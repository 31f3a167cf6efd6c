"""The Space in a real browser: Debian's chromium driven by playwright uploads an image and a WAV, switches the
audio condition, clicks Segment and checks the rendered overlays pixel by pixel, the scores shown per condition
(those of the pipeline, and different under silence or noise from the original audio's), and that the toast of a
bad file names it without any server path. Skips without chromium or playwright, or fails without them when
`AVS_REQUIRE_REFERENCE=1` (`.ci/run` installs both and sets it).

As in `test_space_app.py`, the "robust" test model never segments (gate threshold 1.0) and the "baseline" one
segments every pixel (mask bias +20), so the expected overlay colours are known.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CHROMIUM, require_module, require_reference
from inference_media import write_png, write_wav

from modeling_avs.visualization import MASK_COLOR

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
APP_FILE = Path(__file__).resolve().parents[1] / "spaces_app" / "app.py"
FRAME_COLOR = (40, 160, 90)
TIMEOUT_MS = 120_000


# Colour of the pixel at the centre of the first image of a gallery, read back through a canvas.
CENTRE_PIXEL_JS = """
(selector) => {
    const image = document.querySelector(selector);
    if (!image || !image.complete || image.naturalWidth === 0) return null;
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const pixel = context.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
    return [pixel[0], pixel[1], pixel[2], image.naturalWidth, image.naturalHeight];
}
"""


@pytest.fixture(scope="module")
def sync_api():
    """playwright's synchronous API, with Debian's Chromium at `CHROMIUM` (the browser `.ci/run` installs)."""
    require_reference(CHROMIUM, f"Debian's chromium ({CHROMIUM})")
    require_module("gradio")
    return require_module("playwright.sync_api")


# The scores of the first model's table in the summary, as shown (three decimals).
SHOWN_SCORES_JS = """
() => Array.from(document.querySelectorAll('#summary table')[0]?.querySelectorAll('tbody tr') ?? [])
    .map((row) => row.querySelectorAll('td')[2].innerText.trim())
"""


@pytest.fixture(scope="module")
def space_url(sync_api, tiny_avs_model_factory, tmp_path_factory):
    spec = importlib.util.spec_from_file_location("avs_space_app_browser", APP_FILE)
    app = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = app
    spec.loader.exec_module(app)
    robust = tiny_avs_model_factory("gated", gate_threshold=1.0)
    baseline = tiny_avs_model_factory("full_mask", mask_bias=20.0)
    demo = app.build_demo(robust, baseline, examples_dir=tmp_path_factory.mktemp("browser_examples"))
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **app.LAUNCH_OPTIONS)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def browser(sync_api):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_space(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(url, timeout=TIMEOUT_MS)
    page.locator("#run").wait_for(timeout=TIMEOUT_MS)
    return page


def segment_and_read_scores(page, condition_label: str, previous: list[str] | None) -> list[str]:
    """Pick the condition, click Segment and return the scores shown once the summary shows this condition."""
    page.locator("#condition").get_by_label(condition_label).check()
    page.locator("#run").click()
    page.locator("#summary").get_by_text(f"audio: {condition_label.lower()}").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        f"(previous) => {{ const shown = ({SHOWN_SCORES_JS})(); "
        "return shown.length > 0 && JSON.stringify(shown) !== JSON.stringify(previous); }",
        arg=previous,
        timeout=TIMEOUT_MS,
    )
    return page.evaluate(SHOWN_SCORES_JS)


def test_scores_shown_per_condition_are_the_pipelines(browser, space_url, tiny_avs_model_factory, tmp_path):
    from transformers import pipeline

    image = write_png(tmp_path / "frame.png", 96, 128, FRAME_COLOR)
    audio = write_wav(tmp_path / "sound.wav", 3.0)
    segmenter = pipeline("audio-visual-segmentation", model=str(tiny_avs_model_factory("gated", gate_threshold=1.0)))
    page = open_space(browser, space_url)
    page.locator("#input-image input[type=file]").set_input_files(str(image))
    page.locator("#input-audio input[type=file]").set_input_files(str(audio))
    page.locator("#input-image img").first.wait_for(timeout=TIMEOUT_MS)
    shown = {"original": segment_and_read_scores(page, "Original audio", None)}
    for kind, label in (("silence", "Silence"), ("noise", "Noise")):
        shown[kind] = segment_and_read_scores(page, label, shown["original"])
    captions = page.locator("#robust-gallery .caption-label").all_inner_texts()
    cut = page.evaluate(
        "() => Array.from(document.querySelectorAll('.caption-label')).filter((e) => e.scrollWidth > e.clientWidth + 1)"
        ".length"
    )
    page.screenshot(path=str(tmp_path / "space_scores.png"), full_page=True)
    page.close()
    screenshot_dir = os.environ.get("AVS_SCREENSHOT_DIR")
    if screenshot_dir:
        shutil.copy(tmp_path / "space_scores.png", Path(screenshot_dir) / "space_scores.png")
    for kind, scores in shown.items():
        expected = segmenter(str(image), audio=str(audio), audio_condition=kind)
        assert scores == [f"{result['score']:.3f}" for result in expected], kind
        if kind != "original":
            assert scores != shown["original"], kind  # the model hears the change of audio
    assert len(captions) == 3 and cut == 0  # every caption shown whole, none ends in "…"
    assert captions[0] == f"0.9 s · score {shown['noise'][0]} · FPR 0.0%"


def test_bad_file_toast_names_the_file_without_a_server_path(browser, space_url, tmp_path):
    image = write_png(tmp_path / "frame.png", 96, 128, FRAME_COLOR)
    fake = tmp_path / "recording.wav"
    fake.write_text("a text file renamed .wav")
    page = open_space(browser, space_url)
    page.locator("#input-image input[type=file]").set_input_files(str(image))
    page.locator("#input-audio input[type=file]").set_input_files(str(fake))
    page.locator("#input-image img").first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#run").click()
    toast = page.locator('[data-testid="toast-body"]').first
    toast.wait_for(timeout=TIMEOUT_MS)
    text = toast.inner_text()
    page.close()
    assert "recording.wav could not be read as a sound" in text, text
    assert "/" not in text and "errno" not in text.lower(), text


def test_upload_switch_condition_and_see_the_overlays(browser, space_url, tmp_path):
    image = write_png(tmp_path / "frame.png", 96, 128, FRAME_COLOR)
    audio = write_wav(tmp_path / "sound.wav", 3.0)
    page = open_space(browser, space_url)
    page.locator("#input-image input[type=file]").set_input_files(str(image))
    page.locator("#input-audio input[type=file]").set_input_files(str(audio))
    page.locator("#input-image img").first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#condition").get_by_label("Silence").check()
    page.locator("#run").click()

    page.locator("#summary").get_by_text("silence").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("() => document.querySelectorAll('#baseline-gallery img').length >= 3", timeout=TIMEOUT_MS)
    for selector in ("#robust-gallery img", "#baseline-gallery img"):
        page.wait_for_function(
            "(s) => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }",
            arg=selector,
            timeout=TIMEOUT_MS,
        )
    robust_pixel = page.evaluate(CENTRE_PIXEL_JS, "#robust-gallery img")
    baseline_pixel = page.evaluate(CENTRE_PIXEL_JS, "#baseline-gallery img")
    summary = page.locator("#summary").inner_text()
    page.screenshot(path=str(tmp_path / "space.png"), full_page=True)
    page.close()
    screenshot_dir = os.environ.get("AVS_SCREENSHOT_DIR")
    if screenshot_dir:
        shutil.copy(tmp_path / "space.png", Path(screenshot_dir) / "space.png")

    assert robust_pixel[3:] == [128, 96] and baseline_pixel[3:] == [128, 96]
    assert robust_pixel[:3] == list(FRAME_COLOR)  # robust model: empty mask, the frame is shown unchanged
    tinted = np.round(0.5 * np.array(FRAME_COLOR) + 0.5 * np.array(MASK_COLOR))
    assert np.abs(np.array(baseline_pixel[:3]) - tinted).max() <= 1  # baseline: the mask tint is rendered
    assert "audio: silence" in summary and "100.00%" in summary and "0.00%" in summary
