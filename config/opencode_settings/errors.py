"""How bad settings are reported: one (field, message) line each."""
from __future__ import annotations

from .sources import CONFIG_FILE_ENV, ENV_PREFIX


class SettingsProblems(ValueError):
    """Raised inside a model validator: several (field, message) problems at once."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field} {message}" for field, message in problems))


class SettingsError(Exception):
    """Bad settings: one (field, message) line per bad field."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"Invalid settings ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):"]
        for field, message in self.problems:
            lines.append(f"  - {field}: {message}")
        lines.append(
            f"Set them as {ENV_PREFIX}<FIELD> (nested: {ENV_PREFIX}MODEL__PROVIDER), in .env, "
            f"or in the TOML file named by {CONFIG_FILE_ENV}."
        )
        return "\n".join(lines)
