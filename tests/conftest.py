"""Shared test helpers. Nothing here stubs the code under test; the only stand-ins are
the stub cloud providers in harness/ (see harness/stub_provider.py), used by the rehearsal.
The helpers that need no pytest live in support.py (scripts/bench uses them)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401  (hooks: CI=true fails skips)
from support import (  # noqa: F401  (re-exported for the tests)
    BOOTSTRAP_VARIANTS,
    KEY,
    MODEL_VARIANTS,
    ROOT,
    VARIANTS,
    applied_user_data,
    cloud_config,
    data_sources,
    rendered_bootstrap,
    rendered_model_server,
    resources,
    synth,
    synthesized_user_data,
    terraform_literal,
)


@pytest.fixture(autouse=True)
def clean_settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts from defaults: no OPENCODE_ALICLOUD_* from the caller, no .env."""
    for key in list(os.environ):
        if key.startswith("OPENCODE_ALICLOUD_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def run_main(env_overrides: dict[str, str], outdir: Path, check: bool = False) -> "subprocess.CompletedProcess[str]":
    """Run main.py as a user would: settings only from `env_overrides`, output to `outdir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE_ALICLOUD_")}
    env.update(env_overrides, CDKTF_OUTDIR=str(outdir))
    outdir.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, text=True, timeout=120, cwd=outdir.parent
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result




def assert_rejected(overrides: dict, field: str, fix: str) -> None:
    """Settings with `overrides` are rejected by a problem that names `field` and suggests `fix`."""
    from opencode_settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as caught:
        load_settings(**overrides)
    named = [message for problem_field, message in caught.value.problems if problem_field == field]
    assert named, f"no problem names {field!r}: {caught.value.problems}"
    assert any(fix in message for message in named), named
    assert f"  - {field}: " in caught.value.render()


OSS = {
    "kind": "oss",
    "bucket": "team-tfstate",
    "tablestore_endpoint": "https://opencode-locks.ap-southeast-1.ots.aliyuncs.com",
    "tablestore_table": "terraform_lock",
}


def synth_app(tmp_path: Path, **overrides: Any) -> dict[str, dict]:
    """Synthesize like main.py (both stacks when state.bucket is set); return documents by stack."""
    env = {"OPENCODE_ALICLOUD_STATE_DIR": str(tmp_path / "state")}
    for key, value in overrides.items():
        env[f"OPENCODE_ALICLOUD_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    run_main(env, tmp_path / "cdktf.out", check=True)
    stacks = tmp_path / "cdktf.out" / "stacks"
    return {path.name: json.loads((path / "cdk.tf.json").read_text()) for path in stacks.iterdir()}
