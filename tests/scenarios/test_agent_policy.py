"""The agent runs with the operator's OpenCode configuration, and cannot change it.

The real `opencode` (npm opencode-ai 1.18.33) runs as uid 1000, as the container does, against
the files the user-data writes, with the modes the user-data gives them (read from the rendered
cloud-config) and root as their owner (cloud-init writes as root). The managed-config directory
stands in for the container's /etc/opencode through OPENCODE_TEST_MANAGED_CONFIG_DIR, the
binary's own switch for that path; every other variable is the one compose.yaml sets."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BOOTSTRAP_VARIANTS, ROOT, rendered_bootstrap
from support import written_files
from opencode_alicloud.instance.layout import MANAGED_CONFIG, PROVIDER_KEY_ENV

OPENCODE = ROOT / ".cache" / "tools" / "node_modules" / ".bin" / "opencode"
AGENT_UID = 1000
PLANTED = {"permission": {"bash": "allow", "edit": "allow", "webfetch": "allow"}, "share": "auto",
           "autoupdate": True, "agent": {"build": {"permission": {"bash": "allow"}}}}


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder uid 1000 can reach (pytest's own are root-only), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="opencode-agent-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _written(variant: str) -> dict[str, dict[str, Any]]:
    return written_files(rendered_bootstrap(variant)[2])  # as cloud-init writes them


def _container_env(variant: str) -> dict[str, str]:
    compose = yaml.safe_load(rendered_bootstrap(variant)[1]["/etc/opencode/compose.yaml"])
    return dict(compose["services"]["opencode"]["environment"])


def _layout(tmp_path: Path, variant: str) -> tuple[Path, Path, Path]:
    """(managed dir, home, project) as the container sees them, owned as on the host."""
    managed, home, project = tmp_path / "managed", tmp_path / "home", tmp_path / "workspace" / "repo"
    managed.mkdir()
    item = _written(variant)[MANAGED_CONFIG]
    config = managed / "opencode.json"
    config.write_text(item["content"])
    config.chmod(int(item["permissions"], 8))  # owner: root, as cloud-init writes it
    (home / ".config" / "opencode").mkdir(parents=True)
    (home / ".config" / "opencode").chmod(0o755)  # root-owned, mounted read-only
    (project / ".git").mkdir(parents=True)
    for path in (home, home / ".config", tmp_path / "workspace", project, project / ".git"):
        os.chown(path, AGENT_UID, AGENT_UID)
    return managed, home, project


def _effective(managed: Path, home: Path, project: Path, variant: str) -> dict[str, Any]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "OPENCODE_TEST_MANAGED_CONFIG_DIR": str(managed),
           **_container_env(variant)}
    result = subprocess.run(
        ["setpriv", f"--reuid={AGENT_UID}", f"--regid={AGENT_UID}", "--clear-groups", str(OPENCODE), "debug", "config"],
        env=env, cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("variant", sorted(BOOTSTRAP_VARIANTS))
def test_the_agent_user_reads_the_operators_config(variant: str, tmp_path: Path) -> None:
    boot, files, _ = rendered_bootstrap(variant)
    assert _written(variant)[MANAGED_CONFIG]["permissions"] == "0644"  # no secret in it: keys are {env:...}
    rendered = json.loads(files[MANAGED_CONFIG])
    effective = _effective(*_layout(tmp_path, variant), variant)
    assert effective["model"] == rendered["model"]
    assert effective["share"] == "disabled" and effective["autoupdate"] is False
    assert effective["permission"] == {"edit": "allow", "bash": "ask", "webfetch": "ask"}
    (provider,) = rendered["provider"]
    assert provider in effective["provider"]
    key_env = "MODEL_SERVER_API_KEY" if boot.model_server_url else PROVIDER_KEY_ENV[boot.model_provider]
    assert rendered["provider"][provider]["options"]["apiKey"] == f"{{env:{key_env}}}"
    if "baseURL" in rendered["provider"][provider]["options"]:
        assert effective["provider"][provider]["options"]["baseURL"] == rendered["provider"][provider]["options"]["baseURL"]


def test_a_planted_override_changes_nothing(tmp_path: Path) -> None:
    managed, home, project = _layout(tmp_path, "default")
    # What a prompt-injected agent can write: its repositories. (Its config directory is read-only.)
    (project / "opencode.json").write_text(json.dumps(PLANTED))
    (project / "opencode.jsonc").write_text(json.dumps(PLANTED))
    (project / ".opencode" / "agent").mkdir(parents=True)
    (project / ".opencode" / "opencode.json").write_text(json.dumps(PLANTED))
    (project / ".opencode" / "agent" / "free.md").write_text("---\ndescription: x\npermission:\n  bash: allow\n---\nx\n")
    effective = _effective(managed, home, project, "default")
    assert effective["permission"] == {"edit": "allow", "bash": "ask", "webfetch": "ask"}
    assert effective["share"] == "disabled" and effective["autoupdate"] is False
    assert not effective.get("agent"), effective.get("agent")


def test_even_a_global_override_loses_to_the_managed_config(tmp_path: Path) -> None:
    """Were the agent's config directory writable after all, the managed file still wins on the
    keys it sets."""
    managed, home, project = _layout(tmp_path, "default")
    (home / ".config" / "opencode" / "opencode.jsonc").write_text(json.dumps({k: v for k, v in PLANTED.items() if k != "agent"}))
    effective = _effective(managed, home, project, "default")
    assert effective["permission"] == {"edit": "allow", "bash": "ask", "webfetch": "ask"}
    assert effective["share"] == "disabled" and effective["autoupdate"] is False


def test_the_container_gets_a_root_owned_config_folder_and_disables_project_config() -> None:
    service = yaml.safe_load(rendered_bootstrap("default")[1]["/etc/opencode/compose.yaml"])["services"]["opencode"]
    assert f"{MANAGED_CONFIG}:{MANAGED_CONFIG}:ro" in service["volumes"]
    # Not read-only (OpenCode fails on EROFS there, seen in the boot rehearsal) but root's, 0755, for a
    # container user that is uid 1000 with every capability dropped and no-new-privileges.
    assert "/data/opencode/config:/home/opencode/.config/opencode" in service["volumes"]
    assert service["cap_drop"] == ["ALL"] and service["security_opt"] == ["no-new-privileges:true"]
    assert service["environment"]["OPENCODE_DISABLE_PROJECT_CONFIG"] == "1"
    script = rendered_bootstrap("default")[1]["/usr/local/sbin/opencode-bootstrap"]
    assert "install -d -o 0 -g 0 -m 0755 /data/opencode/config" in script


def test_the_old_layout_would_have_failed(tmp_path: Path) -> None:
    """What the security review found: a root-only 0600 file is no config at all for uid 1000."""
    managed, home, project = _layout(tmp_path, "openai-compatible")
    (managed / "opencode.json").chmod(0o600)
    effective = _effective(managed, home, project, "openai-compatible")
    assert "custom" not in effective.get("provider", {}) and effective.get("share") != "disabled"


def _diagnostics(managed: Path, home: Path, project: Path) -> None:
    """`opencode debug lsp diagnostics` on a TypeScript file of the project, as uid 1000 (it starts the LSP
    servers the configuration enables for that file)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "OPENCODE_TEST_MANAGED_CONFIG_DIR": str(managed),
           **_container_env("default")}
    subprocess.run(["setpriv", f"--reuid={AGENT_UID}", f"--regid={AGENT_UID}", "--clear-groups", str(OPENCODE), "debug",
                    "lsp", "diagnostics", "a.ts"], env=env, cwd=project, capture_output=True, text=True, timeout=120)


def test_a_binary_planted_in_a_repository_is_never_started_as_a_language_server_or_formatter(tmp_path: Path) -> None:
    """Security review 2, #12: OpenCode starts language servers and formatters from the repository's own
    node_modules/.bin (oxlint here) without a bash approval. The managed config turns both off, and that wins
    over a configuration that turns them on (the control: with only that one, the planted binary runs)."""
    managed, home, project = _layout(tmp_path, "default")
    ran = tmp_path / "ran"
    bin_dir = project / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    for name in ("oxlint", "oxc_language_server"):
        (bin_dir / name).write_text(f"#!/bin/sh\necho \"$0 $*\" >> {ran}\n")
        (bin_dir / name).chmod(0o755)
    (project / "package.json").write_text('{"name": "p", "devDependencies": {"oxlint": "1.0.0"}}')
    (project / "a.ts").write_text("const a: number = 1;\n")
    for path in (project / "node_modules", bin_dir, project / "package.json", project / "a.ts"):
        os.chown(path, AGENT_UID, AGENT_UID)
    tmp_path.chmod(0o777)
    enabling = home / ".config" / "opencode" / "opencode.jsonc"  # as if the agent's global config turned them on
    enabling.write_text(json.dumps({"lsp": True, "formatter": True}))
    effective = _effective(managed, home, project, "default")
    assert effective["lsp"] is False and effective["formatter"] is False
    _diagnostics(managed, home, project)
    assert not ran.exists(), ran.read_text()
    control = tmp_path / "no-managed"
    control.mkdir()
    _diagnostics(control, home, project)  # the same project, no managed config: the planted binary runs
    assert "node_modules/.bin/o" in ran.read_text()
