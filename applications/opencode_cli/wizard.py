"""`init`: the questions that make a settings file, each answer checked by the same settings model
as the synth (a bad answer is asked again, with the reason). No secret is ever asked or written:
keys and tokens are given at deploy time (TF_VAR_*) or named as existing OOS secret parameters."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import questionary
import tomli_w

from opencode_settings import SettingsError, load_settings
from opencode_settings.regions import OVERSEAS_REGIONS

DEFAULT_MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-5", "google": "gemini-2.5-pro", "openai-compatible": ""}
AT_DEPLOY = "at deploy time (TF_VAR_...), never written anywhere"
IN_OOS = "an existing OOS secret parameter (its name is written, not its value)"


def set_path(values: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        values = values.setdefault(part, {})
    values[leaf] = value


def get_path(values: dict[str, Any], path: str, default: Any = None) -> Any:
    for part in path.split("."):
        if not isinstance(values, dict) or part not in values:
            return default
        values = values[part]
    return values


def problem(values: dict[str, Any], field: str) -> str | None:
    """What the settings model says about `field` with these values (None: nothing)."""
    try:
        load_settings(**values)
    except SettingsError as error:
        for name, message in error.problems:
            if name == field or name.startswith(field + "[") or name.startswith(field + "."):
                return message
    return None


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class Question:
    path: str  # the setting it fills (or a choice of the wizard's own, starting with "_")
    prompt: str
    kind: str  # text, list, select, confirm, keyfile
    choices: tuple[str, ...] = ()
    default: Any = None
    when: Callable[[dict[str, Any]], bool] = lambda values: True


def _no_model_server(values: dict[str, Any]) -> bool:
    return not get_path(values, "model_server.enabled", False)


QUESTIONS: tuple[Question, ...] = (
    Question("name", "Workspace name (prefix of every resource)", "text", default="opencode"),
    Question("region", "Region (outside mainland China)", "select", choices=tuple(sorted(OVERSEAS_REGIONS)),
             default="ap-southeast-1"),
    Question("instance_type", "Instance type", "text", default="ecs.e-c1m2.large"),
    Question("web_cidrs", "Who may reach the login page (CIDRs, comma-separated; narrow it to your office or VPN)",
             "list", default=["0.0.0.0/0"]),
    Question("domain", "Domain for the certificate (empty: <ip>.sslip.io)", "text", default=""),
    # The private model server comes before the model: with it, OpenCode uses it and needs no key.
    Question("model_server.enabled", "Run a private model server (vLLM on a GPU) in the VPC?", "confirm", default=False),
    Question("model.provider", "Model provider", "select", choices=("anthropic", "openai", "google", "openai-compatible"),
             default="anthropic", when=_no_model_server),
    Question("model.model", "Model id", "text", when=_no_model_server),
    Question("model.base_url", "API base URL (https://...)", "text", default="",
             when=lambda v: get_path(v, "model.provider") == "openai-compatible" and _no_model_server(v)),
    Question("_model_key", "How is the model's API key given?", "select", choices=(AT_DEPLOY, IN_OOS), default=AT_DEPLOY,
             when=_no_model_server),
    Question("model.api_key_parameter", "OOS secret parameter with the API key", "text", default="",
             when=lambda v: v.get("_model_key") == IN_OOS and _no_model_server(v)),
    Question("use_github_token", "Give the agent a GitHub token?", "confirm", default=False),
    Question("_github_key", "How is the GitHub token given?", "select", choices=(AT_DEPLOY, IN_OOS), default=AT_DEPLOY,
             when=lambda v: bool(v.get("use_github_token"))),
    Question("github_token_parameter", "OOS secret parameter with the GitHub token", "text", default="",
             when=lambda v: v.get("_github_key") == IN_OOS),
    Question("_ssh", "Open SSH (port 22) to some addresses?", "confirm", default=False),
    # the key before the addresses: SSH open without a key is a problem the model names on ssh_cidrs
    Question("ssh_public_key", "Public key file for SSH", "keyfile", default="~/.ssh/id_ed25519.pub",
             when=lambda v: bool(v.get("_ssh"))),
    Question("ssh_cidrs", "Who may reach SSH (CIDRs, comma-separated; never 0.0.0.0/0)", "list", default=[],
             when=lambda v: bool(v.get("_ssh"))),
    Question("backend.kind", "Where does the Terraform state live?", "select", choices=("local", "oss", "cloud", "remote"),
             default="local"),
    Question("backend.bucket", "OSS bucket for the state", "text", default="",
             when=lambda v: get_path(v, "backend.kind") == "oss"),
    Question("backend.tablestore_endpoint", "Tablestore endpoint for the lock (https://<instance>.<region>.ots.aliyuncs.com)",
             "text", default="", when=lambda v: get_path(v, "backend.kind") == "oss"),
    Question("backend.tablestore_table", "Lock table", "text", default="terraform_lock",
             when=lambda v: get_path(v, "backend.kind") == "oss"),
    Question("backend.organization", "HCP Terraform / TFE organization", "text", default="",
             when=lambda v: get_path(v, "backend.kind") in ("cloud", "remote")),
)


def convert(question: Question, answer: Any) -> Any:
    """An answer as the setting's value; "" is unset (None)."""
    if question.kind == "list":
        return _list(answer) if isinstance(answer, str) else answer
    if question.kind == "keyfile":
        path = Path(str(answer)).expanduser()
        if not path.is_file():
            raise ValueError(f"no file {path}")
        return path.read_text().strip()
    if question.kind == "text" and answer == "":
        return None
    return answer


def validator(question: Question, values: dict[str, Any]) -> Callable[[Any], bool | str]:
    def check(answer: Any) -> bool | str:
        if question.path.startswith("_"):
            return True
        try:
            value = convert(question, answer)
        except ValueError as error:
            return str(error)
        candidate = {k: v for k, v in values.items() if not k.startswith("_")}
        if value is not None:
            set_path(candidate, question.path, value)
        return problem(candidate, question.path) or True
    return check


def default_of(question: Question, values: dict[str, Any], given: dict[str, Any]) -> Any:
    if question.path in given:
        return given[question.path]
    if question.path == "model.model":
        return DEFAULT_MODELS.get(get_path(values, "model.provider", "anthropic"), "")
    implied = {"_model_key": ("model.api_key_parameter", IN_OOS), "_github_key": ("github_token_parameter", IN_OOS),
               "_ssh": ("ssh_cidrs", True)}
    if question.path in implied and implied[question.path][0] in given:
        return implied[question.path][1]
    return question.default


def ask(question: Question, values: dict[str, Any], default: Any) -> Any:
    check = validator(question, values)
    if question.kind == "select":
        return questionary.select(question.prompt, choices=list(question.choices), default=default).unsafe_ask()
    if question.kind == "confirm":
        return questionary.confirm(question.prompt, default=bool(default)).unsafe_ask()
    shown = ", ".join(default) if isinstance(default, list) else str(default or "")
    return questionary.text(question.prompt, default=shown, validate=check).unsafe_ask()


def run(given: dict[str, Any], interactive: bool) -> dict[str, Any]:
    """The settings values: asked (with `given` as defaults) or, non-interactive, `given` alone."""
    values: dict[str, Any] = {}
    for question in QUESTIONS:
        if not question.when(values):
            continue
        default = default_of(question, values, given)
        answer = ask(question, values, default) if interactive else default
        if not interactive and question.kind == "keyfile" and question.path not in given:
            continue
        if answer is None:
            continue
        value = convert(question, answer)
        if question.path.startswith("_"):
            values[question.path] = value
        elif value not in (None, []):
            set_path(values, question.path, value)
    return {k: v for k, v in values.items() if not k.startswith("_")}


HEADER = """# Settings of an OpenCode workspace on Alibaba Cloud, written by `opencode-alicloud init`.
# Use it with: export OPENCODE_ALICLOUD_CONFIG={path}   (the CLI finds ./opencode-alicloud.toml itself)
# No secrets here: give the model API key and the GitHub token at deploy time
#   (TF_VAR_model_api_key, TF_VAR_github_token) or name existing OOS secret parameters.
# Every setting and its default: the docs site's settings reference (docs/reference/settings.md, built by mkdocs).

"""


def write(values: dict[str, Any], path: Path) -> None:
    """Validate the whole file's values once more, then write them."""
    load_settings(**values)  # raises SettingsError naming every bad setting
    path.write_text(HEADER.format(path=path.resolve()) + tomli_w.dumps(values))
