"""A refused form says at its top what to fix, each problem linking to its field."""

from __future__ import annotations

import re

from flask import Flask

from tests.support.personas import World
from tests.support.web import signed_in

SUMMARY = re.compile(r'<div class="error-summary"[^>]*>(.*?)</div>', re.S)


def _summary(html: str) -> str:
    found = SUMMARY.search(html)
    assert found, "no error summary on the refused page"
    return found.group(1)


def test_a_refused_report_lists_each_problem_with_a_link_to_its_field(
    app: Flask, world: World
) -> None:
    cam = signed_in(app, world, "teacher_cam")
    refused = cam.submit("/reports/new", {"channel": "anonymous_tip", "narrative": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    summary = _summary(html)
    links = re.findall(r'href="#([^"]+)"', summary)
    assert links, summary
    for field_id in links:
        # Every link leads to a field on the page, so a keyboard user lands where the error is.
        assert f'id="{field_id}"' in html, field_id
    assert "Not a valid choice" in summary
    # The summary comes before the form it describes.
    assert html.index('class="error-summary"') < html.index("<form", html.index("<main"))


def test_a_page_that_was_not_refused_has_no_summary(app: Flask, world: World) -> None:
    cam = signed_in(app, world, "teacher_cam")
    html = cam.get("/reports/new").get_data(as_text=True)
    assert "error-summary" not in html
