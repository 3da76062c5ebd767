"""Exporting a campaign's results from its dashboard in Chromium: a real download, CSV with BOM;
the confirmation in Chinese, then in English."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.console.conftest import Console

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect


def test_dashboard_downloads_csv_and_jsonl(admin_page: Page, console: Console) -> None:
    page = admin_page
    page.goto(console.url(f"/console/campaigns/{console.seeded.campaign_id}?lang=zh-CN"))
    expect(page.locator("#calls tbody tr[data-attempt]")).to_have_count(3)
    with page.expect_download() as csv_download:
        page.click("#export-csv")
    download = csv_download.value
    assert download.suggested_filename.startswith(f"results-campaign-{console.seeded.campaign_id}-")
    body = Path(download.path()).read_bytes()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert len(rows) == 3 and {row["outcome"] for row in rows} == {"answered", "no_answer"}
    assert console.seeded.answered_attempt in {row["attempt_id"] for row in rows}
    expect(page.locator("#toast")).to_contain_text("已导出 results-campaign-")
    page.goto(console.url(f"/console/campaigns/{console.seeded.campaign_id}?lang=en"))
    expect(page.locator("#calls tbody tr[data-attempt]")).to_have_count(3)
    with page.expect_download() as jsonl_download:
        page.click("#export-jsonl")
    lines = Path(jsonl_download.value.path()).read_text(encoding="utf-8").splitlines()
    expect(page.locator("#toast")).to_contain_text("Exported results-campaign-")
    assert [json.loads(line)["attempt_id"] for line in lines] == [row["attempt_id"] for row in rows]
