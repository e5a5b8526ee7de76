"""The README's quickstart and the API walk-through, pasted in order into one shell against a fresh
`stayflow dev` stack (on moved ports, as a second stack would be): they must work as written.

The shell blocks are read from the documents themselves (the README's block after the
`<!-- quickstart: ... -->` marker, then every walk-through block after `<!-- walk-through: tested -->`),
so a README that drifts from the product fails here. Every curl in them must answer 2xx."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_make_dev import DevStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART_MARK = "<!-- quickstart:"
WALKTHROUGH_MARK = "<!-- walk-through: tested -->"
PREAMBLE = """set -e
# The documents use `curl -s`; here a failed request (or a missing file) stops the script.
curl() { command curl --fail-with-body "$@"; }
"""


def blocks_after(document: Path, mark: str) -> list[str]:
    """The ```bash blocks that directly follow `mark` in `document`."""
    text = document.read_text()
    found = re.findall(re.escape(mark) + r"[^\n]*\n```bash\n(.*?)\n```", text, flags=re.S)
    assert found, f"no {mark!r} block in {document}"
    return found


def quickstart_script() -> str:
    parts = [PREAMBLE]
    blocks = blocks_after(ROOT / "README.md", QUICKSTART_MARK)
    blocks += blocks_after(ROOT / "docs" / "api-walkthrough.md", WALKTHROUGH_MARK)
    for n, block in enumerate(blocks, 1):
        parts.append(f'echo "=== block {n}"\n{block}\n')
    parts.append('echo "=== done"\n')
    return "\n".join(parts)


def test_the_documents_have_their_tested_blocks() -> None:
    script = quickstart_script()
    assert "stayflow seed-demo" in script and "docs/demo/living-room.jpg" in script
    assert "$(uuidgen)" not in script  # missing on common machines
    assert (ROOT / "docs" / "demo" / "living-room.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG


def test_seed_demo_refuses_production(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "STAYFLOW_ENV": "production", "STAYFLOW_HOME": str(tmp_path)}
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "stayflow"), "seed-demo"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and "refuses to run in production" in run.stderr, run.stderr


def test_quickstart_and_walkthrough_work_when_pasted_in_order(tmp_path: Path) -> None:
    stack = DevStack(tmp_path / "stack")
    try:
        stack.start()
        # A user's shell in the checkout: the documents use .venv/bin/stayflow and docs/demo/.
        shell_dir = tmp_path / "checkout"
        shell_dir.mkdir()
        (shell_dir / ".venv").symlink_to(ROOT / ".venv")
        (shell_dir / "docs").symlink_to(ROOT / "docs")
        script = quickstart_script()
        run = subprocess.run(
            ["bash", "-c", script],
            cwd=shell_dir,
            env=stack.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        output = run.stdout
        assert run.returncode == 0, output[-6000:]

        # The demo marketplace came up in under a minute, and search answers at once.
        seeded = re.search(r"Demo marketplace ready in ([\d.]+) s", output)
        assert seeded and float(seeded[1]) < 60, output[:3000]
        assert "guest@demo.example.com" in output and "curl -s" in output  # who to sign in as, what to try

        # The quickstart ends with a confirmed booking, a BookingWorkflow run in the Temporal UI.
        booked = re.search(r"booking ([0-9a-f-]{36}) is (\w+)", output)
        assert booked and booked[2] == "confirmed", output[-3000:]
        ui = f"http://127.0.0.1:{stack.ui_port}/api/v1/namespaces/default/workflows/booking-{booked[1]}"
        described = httpx.get(ui, timeout=10)
        assert described.status_code == 200 and "BookingWorkflow" in described.text, described.text[:500]

        # Running the seed twice adds nothing.
        again = stack.stayflow("seed-demo")
        assert again.returncode == 0, again.stderr
        assert "added now: 0 users, 0 listings,\n0 photos, 0 bookings, 0 past stays, 0 reviews," in again.stdout
        statuses = re.search(r"Demo bookings by status: (.*)\.", again.stdout)
        assert statuses, again.stdout
        for status in ("pending_payment", "awaiting_host", "confirmed", "completed", "declined", "expired",
                       "cancelled", "payment_failed"):  # fmt: skip
            assert f" {status}" in statuses[1], statuses[1]
    finally:
        if stack.process and stack.process.poll() is None:
            stack.interrupt()
