"""The docs site: `mkdocs build --strict` passes (every internal link resolves), the reference pages hold what
the code holds (computed from the code here, never a list typed in), and the controls show the build failing
on a broken link, a missing page and an unknown reference marker."""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

PYTHON = str(ROOT / ".venv" / "bin" / "python")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def build(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    return subprocess.run([PYTHON, "-m", "mkdocs", "build", "--strict", "-d", str(site)], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = build(ROOT, out)
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def page_text(site: Path, page: str) -> str:
    """The page's HTML, entities decoded (the tables' text as a reader sees it, tags kept)."""
    return html.unescape((site / page / "index.html").read_text())


def copy_project(tmp_path: Path) -> Path:
    """What the build reads: mkdocs.yml, docs/ (with the hooks) and README.md (the cost page includes it) copied;
    the code the hooks import and measure linked."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    for name in ("main.py", "scripts", "constructs", "config", "applications", "imports"):  # imports: the bindings
        (project / name).symlink_to(ROOT / name)
    return project


def setting_names(model: Any, prefix: str = "") -> Iterator[str]:
    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        yield prefix + name
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from setting_names(field.annotation, f"{prefix}{name}.")


def cli_commands() -> Iterator[tuple[str, Any]]:
    import typer

    from opencode_cli.app import app

    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(app), "opencode-alicloud")


def test_the_site_builds_strict(site: Path) -> None:
    for page in ("index.html", "guides/deploy/index.html", "reference/cli/index.html", "development/index.html"):
        assert (site / page).is_file(), page


def missing_settings(text: str) -> list[str]:
    from opencode_settings.settings import Settings

    names = list(setting_names(Settings))
    assert len(names) > 20 and any("." in name for name in names)
    return [name for name in names if f"<code>{name}</code>" not in text]


def missing_cli(text: str) -> list[str]:
    import click

    commands = list(cli_commands())
    assert len(commands) > 10
    missing = []
    for path, command in commands:
        ctx = click.Context(command, info_name=path)
        records = [param.get_help_record(ctx) for param in command.params if not getattr(param, "hidden", False)]
        names = [path] + [record[0] for record in records if record is not None]
        missing += [name for name in names if f"<code>{name}</code>" not in text]
    return missing


def missing_rules(text: str) -> list[str]:
    from opencode_alicloud.policy.rules import all_rules
    from opencode_alicloud.policy.runner import OUR_CHECK_IDS

    rules = [rule for rule in all_rules() if rule.id in OUR_CHECK_IDS]
    assert OUR_CHECK_IDS and len(rules) == len(OUR_CHECK_IDS)
    return [rule.id for rule in rules
            if not (f"<code>{rule.id}</code>" in text and rule.title in text and rule.fix in text)]


def missing_statements(text: str) -> list[str]:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from opencode_alicloud.deployer_policy import deployer_policy

    statements = deployer_policy("opencode", health_gate=True)["Statement"]
    assert statements
    missing = []
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        names = [statement["Sid"], *actions]
        missing += [f"{statement['Sid']}: {name}" for name in names if f"<code>{name}</code>" not in text]
    return missing


CHECKS = {"reference/settings": missing_settings, "reference/cli": missing_cli,
          "reference/policy-rules": missing_rules, "reference/deployer-policy": missing_statements}


@pytest.mark.parametrize("page", sorted(CHECKS))
def test_the_reference_page_holds_what_the_code_holds(site: Path, page: str) -> None:
    """Every setting of the model, every command and option of the CLI's click tree, every rule id (with its
    title and fix), every statement's Sid and actions of the default workspace's deployer policy."""
    assert CHECKS[page](page_text(site, page)) == []


@pytest.mark.parametrize("page", sorted(CHECKS))
def test_the_reference_check_fails_on_a_page_without_the_table(site: Path, page: str) -> None:
    """Control: each check, run on a guide that holds no generated table, finds something missing."""
    assert CHECKS[page](page_text(site, "guides/troubleshooting")) != []


def test_the_cost_page_shows_the_readmes_estimate(site: Path) -> None:
    """The cost page includes the README's estimate (the one tests/test_cost.py recomputes), not a copy."""
    readme = (ROOT / "README.md").read_text()
    total = next(line for line in readme.splitlines() if line.startswith("| **total** |"))
    figures = re.findall(r"\*\*([\d.]+)\*\*", total)
    text = page_text(site, "guides/cost")
    assert figures and all(f"<strong>{figure}</strong>" in text for figure in figures)


def test_reference_pages_commit_markers_not_tables() -> None:
    """Nothing generated is committed: each reference page holds its marker, and no generated table."""
    for page, row in (("settings", "| `name` |"), ("cli", "## `opencode-alicloud init`"),
                      ("policy-rules", "| `CKV_OCA_1` |"), ("deployer-policy", "| `ReadForPlanning` |")):
        source = (ROOT / "docs" / "reference" / f"{page}.md").read_text()
        assert f"<!-- reference:{page} -->" in source and row not in source, page


def broken_links(markdown: str, base: Path) -> list[str]:
    """Relative links of a markdown file (outside code) whose file does not exist."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    targets = [target.split("#")[0] for target in LINK.findall(text) if "://" not in target]
    return [target for target in targets if target and not (base / target).exists()]


def test_the_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 400
    links = [target for target in LINK.findall(readme) if target.startswith("docs/")]
    assert len(links) >= 15, links
    assert broken_links(readme, ROOT) == []
    assert broken_links((ROOT / "CONTRIBUTING.md").read_text(), ROOT) == []
    assert broken_links("[gone](docs/guides/no-such-page.md)", ROOT) == ["docs/guides/no-such-page.md"]  # control


def test_the_copy_builds_when_nothing_is_broken(tmp_path: Path) -> None:
    """The controls below start from a copy that builds: their failures are the breakage's, not the copy's."""
    result = build(copy_project(tmp_path), tmp_path / "site")
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("breakage", ["broken link", "missing nav page", "unknown marker", "misspelt marker",
                                      "misspelt house marker"])
def test_the_build_fails_on_a_broken_copy(tmp_path: Path, breakage: str) -> None:
    """Controls: the same strict build on a copy of the docs with one thing broken fails, and says why."""
    project = copy_project(tmp_path)
    deploy = project / "docs" / "guides" / "deploy.md"
    if breakage == "broken link":
        deploy.write_text(deploy.read_text() + "\nSee [the gone page](no-such-page.md).\n")
        expected = "no-such-page.md"
    elif breakage == "missing nav page":
        config = project / "mkdocs.yml"
        entry = "      - Troubleshooting: guides/troubleshooting.md\n"
        assert entry in config.read_text()
        config.write_text(config.read_text().replace(entry, entry + "      - Gone: guides/no-such-guide.md\n"))
        expected = "guides/no-such-guide.md"
    elif breakage == "unknown marker":
        deploy.write_text(deploy.read_text() + "\n<!-- reference:no-such-table -->\n")
        expected = "no-such-table"
    elif breakage == "misspelt marker":
        settings = project / "docs" / "reference" / "settings.md"
        settings.write_text(settings.read_text().replace("<!-- reference:settings -->", "<!-- reference:Settings -->"))
        expected = "reference marker"
    else:
        page = project / "docs" / "development" / "architecture.md"
        page.write_text(page.read_text().replace("<!-- house:picture -->", "<!-- house:pictur -->"))
        expected = "the house's markers"
    result = build(project, tmp_path / "site")
    assert result.returncode != 0 and expected in result.stderr + result.stdout, result.stderr[-2000:]


def _placeholders(model: Any) -> set[str]:
    """`<name>` placeholders outside code spans in the settings' descriptions, nested models walked."""
    from pydantic import BaseModel

    found: set[str] = set()
    for field in model.model_fields.values():
        prose = "".join((field.description or "").split("`")[::2])
        found |= set(re.findall(r"<[a-z][a-z -]*>", prose))
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            found |= _placeholders(field.annotation)
    return found


def test_placeholders_in_the_settings_stay_text(site: Path) -> None:
    """A description's `<ip-with-dashes>` reaches the page as text: raw, the browser would take it for a tag and
    show nothing."""
    from opencode_settings.settings import Settings

    placeholders = _placeholders(Settings)
    assert placeholders, "no placeholder in any description: the check would pass vacuously"
    raw = (site / "reference" / "settings" / "index.html").read_text()
    assert [p for p in placeholders if html.escape(p, quote=False) not in raw] == []
    assert [p for p in placeholders if p in raw] == []


def test_the_literal_filter_escapes_prose_and_keeps_code() -> None:
    """Control of the filter the settings page goes through."""
    import sys

    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    from reference import literal

    assert literal("Unset: <ip>.sslip.io, or `<name>`") == "Unset: &lt;ip&gt;.sslip.io, or `<name>`"


def test_the_architecture_page_draws_the_code_as_measured(site: Path) -> None:
    """The picture and the verdict of the architecture page are scripts/house.py's measure of the code as it is."""
    from scripts.house import measure, mermaid, problems

    modules = measure()
    text = page_text(site, "development/architecture")
    assert problems(modules) == [] and f"{len(modules)} modules: no import cycle" in text
    graph = mermaid(modules)
    assert graph.splitlines()[1].split('"')[1].split("<br/>")[0] in text and graph.count("-->") == text.count("-->")
    for name in modules:
        assert f"<code>{name}</code>" in text, name


def test_the_architecture_page_names_every_stack_main_builds() -> None:
    from opencode_alicloud.audit_stack import AUDIT_STACK_ID
    from opencode_alicloud.image_stack import IMAGE_STACK_ID
    from opencode_alicloud.roles_stack import ROLES_STACK_ID
    from opencode_alicloud.state_stack import STATE_STACK_ID

    page = (ROOT / "docs" / "development" / "architecture.md").read_text()
    for stack in ("opencode", ROLES_STACK_ID, STATE_STACK_ID, AUDIT_STACK_ID, IMAGE_STACK_ID):
        assert f"| `{stack}` |" in page, stack
