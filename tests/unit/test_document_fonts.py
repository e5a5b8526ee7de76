"""The documents' text font is instanced once per installation, not once per process: making it
costs about 20 s of CPU, which the first invoice of every API or worker process used to wait for."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from stayflow import invoice_pdf


def test_a_made_font_instance_is_kept_and_reused_by_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    invoice_pdf.text_font_at.cache_clear()
    try:
        made = invoice_pdf.text_font_at(400)
    finally:
        invoice_pdf.text_font_at.cache_clear()
    assert made.parent == tmp_path / "stayflow" / "fonts"
    assert made.stat().st_size > 100_000
    written = made.stat().st_mtime_ns

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    answer = subprocess.run(
        [sys.executable, "-c", "from stayflow.invoice_pdf import text_font_at; print(text_font_at(400))"],
        env={"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert Path(answer.stdout.strip()) == made
    assert made.stat().st_mtime_ns == written  # used as it was, not made again
    assert (after.ru_utime - before.ru_utime) < 8  # an import and a stat, where instancing takes ~20 s
    assert not list(made.parent.glob("*.partial"))
