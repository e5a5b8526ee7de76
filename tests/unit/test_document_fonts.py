"""The documents' text font is instanced once per installation, not once per process: making it
costs about 20 s of CPU, which the first invoice of every API or worker process used to wait for."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from stayflow import invoice_pdf


def test_a_made_font_instance_is_kept_and_reused_by_the_next_process() -> None:
    # The user's cache, as the product uses it: made here if no earlier document made it yet.
    made = invoice_pdf.text_font_at(400)
    assert made.parent in invoice_pdf.font_cache_dirs()
    assert made.stat().st_size > 100_000
    written = made.stat().st_mtime_ns

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    answer = subprocess.run(
        [sys.executable, "-c", "from stayflow.invoice_pdf import text_font_at; print(text_font_at(400))"],
        env={key: os.environ[key] for key in ("HOME", "XDG_CACHE_HOME", "PATH") if key in os.environ},
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert Path(answer.stdout.strip()) == made
    assert made.stat().st_mtime_ns == written  # used as it was, not made again
    assert (after.ru_utime - before.ru_utime) < 8  # an import and a stat, where instancing takes ~20 s
    assert not list(made.parent.glob("*.partial"))
