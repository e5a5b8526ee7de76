"""Which build a worker says it is: predictable from the code, or named by the operator."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

from stayflow.settings import SettingsError, load_settings
from stayflow.versioning import build_id, code_build_id, deployment_version


def test_the_build_id_is_the_release_plus_a_hash_of_the_workflow_code(tmp_path: Path) -> None:
    settings = load_settings({"STAYFLOW_HOME": str(tmp_path)})
    assert re.fullmatch(re.escape(metadata.version("stayflow")) + r"-[0-9a-f]{12}", build_id(settings))
    assert build_id(settings) == code_build_id()
    assert deployment_version(settings).to_canonical_string() == f"stayflow.{code_build_id()}"


def test_an_operator_names_the_build_and_the_deployment(tmp_path: Path) -> None:
    settings = load_settings(
        {"STAYFLOW_HOME": str(tmp_path), "STAYFLOW_BUILD_ID": "2025-06-01.3", "STAYFLOW_WORKER_DEPLOYMENT": "stay-eu"}
    )
    assert deployment_version(settings).to_canonical_string() == "stay-eu.2025-06-01.3"


def test_a_deployment_name_with_a_dot_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STAYFLOW_WORKER_DEPLOYMENT"):
        load_settings({"STAYFLOW_HOME": str(tmp_path), "STAYFLOW_WORKER_DEPLOYMENT": "stayflow.eu"})
