"""How the widget looks in real JupyterLab and Chromium, in the light and the dark theme: node details
never say "null", diff rows and the reasoning are readable on the theme's background (WCAG AA contrast),
legend chips line up, the details pane wraps between words, and the boxes beside Propose have visible
labels. Screenshots of both themes are saved in tests/browser/artifacts/."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trace_workbench.testing import ChatServer

from .conftest import ARTIFACTS, Lab, notebook, open_notebook, run_all, set_theme

CELL = ('%%trace --train prompt --name look\n'
        'prompt = "Write a poem about the sea"\n'
        'label = "identifier_" + "without_any_spaces_" * 4\n'
        'prompt + " for " + label')
REPLY = json.dumps({"reasoning": "The person wants fewer words, so the request is shortened to a haiku.",
                    "answer": "", "suggestion": {"prompt0": "Write a haiku about the sea"}})

# Colours as the page computes them (rgb() or color(srgb ...)), their luminance and contrast (WCAG 2).
COLOURS = """(selectors) => {
  const parse = (c) => {
    let m = c.match(/^rgba?\\(([^)]+)\\)/);
    if (m) { const v = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
             return { rgb: v.slice(0, 3).map((x) => x / 255), alpha: v.length > 3 ? v[3] : 1 }; }
    m = c.match(/^color\\(srgb ([^)]+)\\)/);
    if (m) { const v = m[1].split(/[\\s\\/]+/).filter(Boolean).map(Number);
             return { rgb: v.slice(0, 3), alpha: v.length > 3 ? v[3] : 1 }; }
    throw new Error("unknown colour " + c);
  };
  const luminance = ([r, g, b]) => {
    const f = (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.alpha > 0.5) return c.rgb;
    }
    return [1, 1, 1];
  };
  const out = {};
  for (const selector of selectors) {
    const el = document.querySelector(selector);
    const bg = luminance(background(el));
    const fg = luminance(parse(getComputedStyle(el).color).rgb);
    out[selector] = { background: bg, contrast: (Math.max(bg, fg) + 0.05) / (Math.min(bg, fg) + 0.05) };
  }
  return out;
}"""
ADDED = ".tw-row-changed .tw-diff-cell:last-child"
REMOVED = ".tw-row-changed .tw-diff-cell:first-child"
REASONING = ".tw-proposal .tw-reasoning"


@pytest.fixture(scope="module")
def look(browser: Any, jupyterlab_server: Lab, chat_server: ChatServer) -> Any:
    """One page (in JupyterLab) with the widget showing a scored step in its history and a pending proposal."""
    lab = jupyterlab_server
    (lab.root / "look.ipynb").write_text(json.dumps(notebook("%load_ext trace_workbench\n"
                                                             "%trace_config history=look-history.sqlite", CELL)))
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_notebook(page, lab, "look.ipynb")
        run_all(page)
        widget = page.locator(".tw-root")
        widget.wait_for(timeout=90_000)
        widget.locator(".tw-output code").wait_for(timeout=90_000)
        chat_server.add_replies(REPLY, json.dumps({"reasoning": "Shorter still: name the sea's mood.",
                                                   "answer": "", "suggestion": {"prompt0": "A calm sea haiku"}}))
        widget.locator(".tw-feedback").fill("shorter")
        widget.locator(".tw-score").fill("0.4")
        widget.locator(".tw-propose").click()
        widget.locator(".tw-accept-all").click(timeout=60_000)
        widget.locator(".tw-accepted pre:has-text('Write a haiku')").wait_for()
        widget.locator(".tw-score").fill("0.7")
        widget.locator(".tw-propose").click()
        widget.locator(".tw-change .tw-diff").wait_for(timeout=60_000)
        widget.locator(".tw-history summary").click()
        widget.locator(".tw-score-plot").wait_for()
        yield page
    finally:
        context.close()


@pytest.mark.parametrize(("theme", "light"), [("JupyterLab Light", True), ("JupyterLab Dark", False)])
def test_the_widget_reads_well_in_both_themes(look: Any, theme: str, light: bool) -> None:
    page = look
    set_theme(page, theme, light)
    page.wait_for_timeout(500)  # the theme's stylesheet replaces the other one
    widget = page.locator(".tw-root")
    colours = page.evaluate(COLOURS, [ADDED, REMOVED, REASONING])
    for selector in (ADDED, REMOVED):  # tinted rows of the theme's own lightness
        assert (colours[selector]["background"] > 0.5) if light else (colours[selector]["background"] < 0.1), selector
    for selector in (ADDED, REMOVED, REASONING):
        assert colours[selector]["contrast"] >= 4.5, (selector, colours[selector])

    keys = widget.locator(".tw-key")
    boxes = [keys.nth(i).bounding_box() for i in range(keys.count())]
    assert len({round(b["y"]) for b in boxes}) == 1 and len({round(b["height"]) for b in boxes}) == 1, boxes

    for name in ("Score", "Candidates"):
        box = widget.get_by_label(name, exact=True)
        assert box.count() == 1 and box.is_visible()
        assert widget.locator(f".tw-labelled .tw-field-label:text-is('{name}')").is_visible()

    canvas = widget.locator(".tw-canvas")
    canvas.focus()
    texts = []
    for _ in range(int(widget.get_attribute("data-nodes"))):
        page.keyboard.press("n")
        texts.append(widget.locator(".tw-details").inner_text())
    assert texts and not [t for t in texts if "null" in t.split() or "undefined" in t.split()]
    style = page.evaluate("""() => { const s = getComputedStyle(document.querySelector('.tw-field-value'));
                                     return [s.wordBreak, s.overflowWrap]; }""")
    assert style == ["normal", "anywhere"]
    widget.locator(".tw-find").fill("concat:1")  # the output: its value has a long token
    widget.locator(".tw-find").press("Enter")
    widget.locator(".tw-node-title:has-text('concat:1')").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / f"look-{'light' if light else 'dark'}.png"))
