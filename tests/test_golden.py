"""The synthesized JSON of the default and the all-options stack, byte for byte.

Refactoring must not change what Terraform receives. When a change is meant to change the
JSON, regenerate the golden copies on purpose and review the diff like code:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
    git diff tests/golden/
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT, VARIANTS

GOLDEN = ROOT / "tests" / "golden"
STATE_DIR = "/golden/state"  # a fixed local-backend folder, so the copies do not depend on the checkout


def synthesized_bytes(tmp_path: Path, variant: str) -> bytes:
    from cdktf import App

    from opencode_alicloud.stack import WorkspaceStack
    from opencode_settings import load_settings

    app = App(outdir=str(tmp_path))
    WorkspaceStack(app, "opencode", load_settings(**VARIANTS[variant]), state_dir=STATE_DIR)
    app.synth()
    return (tmp_path / "stacks" / "opencode" / "cdk.tf.json").read_bytes()


@pytest.mark.parametrize("variant", ["default", "all-options"])
def test_synthesized_json_is_byte_identical_to_the_golden_copy(variant: str, tmp_path: Path) -> None:
    golden = GOLDEN / f"{variant}.cdk.tf.json"
    produced = synthesized_bytes(tmp_path, variant)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_bytes(produced)
    assert produced == golden.read_bytes(), f"{golden.name} changed: see this file's docstring"
