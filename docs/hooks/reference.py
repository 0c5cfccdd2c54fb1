"""MkDocs hooks: the reference pages, generated from the code at build time (nothing generated is committed).

A page asks for a table with a marker line, `<!-- reference:NAME -->`; `on_page_markdown` replaces it with
the markdown that GENERATORS[NAME] builds from the code. An unknown name stops the build.
"""
from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

MARKER = re.compile(r"^<!-- reference:([a-z-]+) -->$", re.M)
WORKSPACE = "opencode"  # the default workspace name, which the deployer policy is shown for
CLI_NAME = "opencode-alicloud"


def literal(text: str) -> str:
    """Markdown whose `<placeholder>`s outside code spans stay text (a browser would take them for tags)."""
    parts = text.split("`")
    return "`".join(part if number % 2 else html.escape(part, quote=False) for number, part in enumerate(parts))


def cell(text: Any) -> str:
    """One markdown table cell: a single line, pipes escaped, placeholders kept as text."""
    return literal(" ".join(str(text).split()).replace("|", "\\|"))


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


# ---- every setting -------------------------------------------------------------------------------------

def settings_reference() -> str:
    """The settings table of opencode_settings.docs, its placeholders kept as text."""
    from opencode_settings.docs import settings_table

    return "\n".join(literal(line) for line in settings_table().splitlines())


# ---- the CLI -------------------------------------------------------------------------------------------

def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            yield from _walk(sub, [*path, name])


EXTRA = re.compile(r"\s*\[([^\[\]]*)\]\s*$")  # click's "[default: 20]", "[required]" at the end of a help


def _type_name(param: Any) -> str:
    bare = getattr(param, "bare_type", None)
    if callable(bare):
        return str(bare())
    return getattr(getattr(param, "type", None), "name", "")


def _param_rows(command: Any, ctx: Any, kind: str) -> list[list[str]]:
    """One row per visible parameter of `kind` (argument, option), from click's own help record."""
    rows = []
    for param in command.params:
        record = param.get_help_record(ctx) if param.param_type_name == kind else None
        if record is None or getattr(param, "hidden", False):
            continue  # hidden, or of the other kind
        names, text = record
        default, required = "", "yes" if param.required else ""
        while match := EXTRA.search(text):
            for extra in match.group(1).split(";"):
                key, _, value = extra.strip().partition(":")
                default = f"`{value.strip()}`" if key == "default" else default
                required = "yes" if key == "required" else required
            text = text[:match.start()]
        kind_name = "flag" if getattr(param, "is_flag", False) else _type_name(param)
        rows.append([f"`{names}`", kind_name, required, default, text])
    return rows


def _command_section(path: list[str], command: Any) -> str:
    title = " ".join([CLI_NAME, *path])
    parts = [f"## `{title}`" if path else f"## `{CLI_NAME}` (global options)", (command.help or "").strip()]
    ctx = _context(command, title)
    usage = " ".join(command.collect_usage_pieces(ctx))
    parts.append(f"```\n{title} {usage}\n```")
    if getattr(command, "commands", None):
        parts.append("Commands: " + ", ".join(f"`{name}`" for name in command.commands))
    for kind, heading in (("argument", "Arguments"), ("option", "Options")):
        rows = _param_rows(command, ctx, kind)
        if rows:
            parts.append(f"**{heading}**\n\n" + table(["name", "type", "required", "default", "help"], rows))
    return "\n\n".join(part for part in parts if part)


def _context(command: Any, title: str) -> Any:
    import click

    return click.Context(command, info_name=title)


def cli_reference() -> str:
    import typer

    from opencode_cli.app import app

    root = typer.main.get_command(app)
    return "\n\n".join(_command_section(path, command) for path, command in _walk(root, []))


# ---- the policy rules ----------------------------------------------------------------------------------

def policy_rules_reference() -> str:
    from opencode_alicloud.policy.rules import all_rules
    from opencode_alicloud.policy.runner import OUR_CHECK_IDS

    rules = {rule.id: rule for rule in all_rules()}
    rows = [[f"`{check_id}`", rules[check_id].title, rules[check_id].reason, rules[check_id].fix,
             ", ".join(f"`{kind}`" for kind in rules[check_id].resource_types)] for check_id in OUR_CHECK_IDS]
    return table(["id", "rule", "why", "fix", "judges"], rows)


# ---- the deployer policy -------------------------------------------------------------------------------

def _listed(value: Any) -> str:
    values = value if isinstance(value, list) else [value]
    return ", ".join(f"`{item}`" for item in values)


def deployer_policy_reference() -> str:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from opencode_alicloud.deployer_policy import deployer_policy, policy_parts

    policy = deployer_policy(WORKSPACE, health_gate=True)
    parts = policy_parts(policy)
    part_of = {statement["Sid"]: index + 1 for index, part in enumerate(parts) for statement in part["Statement"]}
    rows = [[f"`{statement['Sid']}`", statement["Effect"], _listed(statement["Action"]), _listed(statement["Resource"]),
             f"`{json.dumps(statement['Condition'], separators=(',', ':'))}`" if "Condition" in statement else "",
             str(part_of[statement["Sid"]])] for statement in policy["Statement"]]
    intro = (f"For the workspace `{WORKSPACE}` with the health gate on: {len(policy['Statement'])} statements "
             f"in {len(parts)} parts.")
    return intro + "\n\n" + table(["Sid", "effect", "actions", "resources", "condition", "part"], rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "settings": settings_reference,
    "cli": cli_reference,
    "policy-rules": policy_rules_reference,
    "deployer-policy": deployer_policy_reference,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def generate(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"{page.file.src_path}: no generator for <!-- reference:{name} -->")
        return GENERATORS[name]()

    generated = MARKER.sub(generate, markdown)
    if re.search(r"^\s*<!--\s*reference:", generated, re.M | re.I):  # a marker misspelt: no table, and no error
        raise ValueError(f"{page.file.src_path}: a reference marker is not one line `<!-- reference:NAME -->`")
    return generated
