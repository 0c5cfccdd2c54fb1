"""The engine underneath: main.py for the synth, the cdktf CLI for deploy and destroy, and
Terraform in the synthesized stack's folder for outputs and the state's resource list. Each runs
as the user would run it, with the settings file in OPENCODE_ALICLOUD_CONFIG."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STACK = "opencode"
ROLES_STACK = "opencode-roles"  # the administrator's: every workspace's RAM roles (main.py, ROLES_STACK_ID)


class EngineError(Exception):
    """cdktf or Terraform failed; the message is one line, the tool's own output was shown."""


@dataclass
class Engine:
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    outdir: Path = field(default_factory=lambda: Path(os.environ.get("CDKTF_OUTDIR") or ROOT / "cdktf.out"))
    skip_provider_lock: bool = False  # cdktf's flag, for a provider mirror without hashes
    stack: str = STACK  # the workspace's stack: "opencode", or a team workspace's name
    _synthesized: bool = False  # the outdir holds this settings' synth (main.py's, or cdktf deploy's own)
    _prepared: bool = False  # ... and Terraform is initialised in the stack's folder

    @property
    def stack_dir(self) -> Path:
        return self.outdir / "stacks" / self.stack

    def _env(self) -> dict[str, str]:
        return {**self.env, "CDKTF_OUTDIR": str(self.outdir), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}

    def synth(self) -> None:
        """main.py: bad settings or a broken policy rule print their lines and raise."""
        result = subprocess.run([sys.executable, str(ROOT / "main.py")], env=self._env(), capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            raise EngineError("the synth failed (above)")
        self._synthesized = True

    def document(self) -> dict[str, Any]:
        """The stack's synthesized cdk.tf.json (synthesized at most once by this engine)."""
        if not self._synthesized:
            self.synth()
        return json.loads((self.stack_dir / "cdk.tf.json").read_text())

    def _cdktf(self, *args: str, stack: str | None = None) -> None:
        """cdktf on the engine's stack (or the one named), its output passed through as it comes; a failure is one
        line (Terraform's lock error says who holds the lock)."""
        stack = stack or self.stack
        cdktf = ROOT / "node_modules" / ".bin" / "cdktf"
        if not cdktf.exists():
            raise EngineError("the cdktf CLI is missing: run ./scripts/setup")
        extra = ["--skip-provider-lock"] if self.skip_provider_lock and args[0] == "deploy" else []
        command = [str(cdktf), args[0], stack, "--output", str(self.outdir), *args[1:], *extra]
        tail: deque[str] = deque(maxlen=400)
        with subprocess.Popen(command, env=self._env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace") as process:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                tail.append(line)
        if process.returncode != 0:
            raise EngineError(lock_holder("".join(tail), self.outdir / "stacks" / stack)
                              or f"cdktf {args[0]} {stack} failed (its output is above)")

    def deploy(self, roles: bool = False) -> None:
        """The workspace's stack; with `roles`, the RAM roles' stack first (an administrator's right: the workspace's
        plan stops by name without its roles). One after the other: cdktf runs stacks it is given together at once."""
        if roles:
            self._roles("deploy")
        self._cdktf("deploy", "--auto-approve")
        self._synthesized = True  # cdktf deploy synthesized the outdir itself

    def destroy(self, roles: bool = False) -> None:
        """The workspace's stack; with `roles`, the RAM roles' stack after it."""
        self._cdktf("destroy", "--auto-approve")
        if roles:
            self._roles("destroy")

    def _roles(self, verb: str) -> None:
        try:
            self._cdktf(verb, "--auto-approve", stack=ROLES_STACK)
        except EngineError as error:
            done = "; the workspace is destroyed, its RAM roles are not" if verb == "destroy" else ""
            raise EngineError(f"{error}{done}. If it was refused: the roles' stack needs an administrator's "
                              f"credentials; with a deployer's key, --no-roles (an administrator runs cdktf {verb} "
                              f"{ROLES_STACK})") from None

    def _terraform(self, *args: str) -> str:
        """Terraform in the stack's folder, synthesized from the settings of now and initialised
        for its backend (-reconfigure: another workspace's backend is never migrated into it)."""
        terraform = shutil.which("terraform", path=self.env.get("PATH"))
        if not terraform:
            raise EngineError("no terraform on PATH (the cdktf CLI needs it too)")
        if not self._prepared:
            if not self._synthesized:
                self.synth()
            init = subprocess.run([terraform, "init", "-input=false", "-no-color", "-reconfigure"], env=self._env(),
                                  cwd=self.stack_dir, capture_output=True, text=True)
            if init.returncode != 0:
                raise EngineError("terraform init failed: " + _last_line(init.stderr))
            self._prepared = True
        result = subprocess.run([terraform, *args], env=self._env(), cwd=self.stack_dir, capture_output=True, text=True)
        if result.returncode != 0:
            raise EngineError(f"terraform {args[0]} failed: " + _last_line(result.stderr))
        return result.stdout

    def replace(self, address: str) -> None:
        """Apply the stack again with one resource replaced (`terraform apply -replace`): a new bake of a recipe
        whose last one failed, or whose image is gone (the execution resource never changes by itself)."""
        self._terraform("apply", "-input=false", "-no-color", "-auto-approve", f"-replace={address}")

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs by name (sensitive ones included: they stay in this process)."""
        document = json.loads(self._terraform("output", "-json", "-no-color") or "{}")
        return {name: value["value"] for name, value in document.items()}

    def resources(self) -> list[str]:
        """Addresses in the state; empty when nothing is deployed."""
        try:
            listed = self._terraform("state", "list", "-no-color")
        except EngineError as error:
            if "No state file was found" in str(error):
                return []
            raise
        return [line for line in listed.splitlines() if line.strip()]


def _last_line(text: str) -> str:
    """Terraform's own error line ("Error: ..."), else the last line it printed."""
    lines = [line.strip(" │╷╵") for line in text.strip().splitlines() if line.strip(" │╷╵")]
    errors = [line for line in lines if line.startswith("Error:")]
    return (errors or lines or ["?"])[0 if errors else -1]


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def lock_holder(output: str, stack_dir: Path) -> str | None:
    """Terraform's state-lock error as one line: who holds the lock, since when, and what to do."""
    plain = _ANSI.sub("", output)
    if "Error acquiring the state lock" not in plain:
        return None
    info = dict(re.findall(r"^[^A-Za-z]*(ID|Who|Operation|Created):\s+(.+?)\s*$", plain, re.M))
    lock_id = info.get("ID", "<ID>")
    return (f"the workspace's state is locked by {info.get('Who', 'another run')} ({info.get('Operation', 'an operation')} "
            f"since {info.get('Created', 'unknown')}): wait for that run to end; if it died, "
            f"terraform -chdir={stack_dir} force-unlock {lock_id}")
