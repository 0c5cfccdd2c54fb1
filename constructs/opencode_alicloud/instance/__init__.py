"""What runs on the instance: its template files (cloud-config, the bootstrap and the secret reader, systemd
units, the Caddyfile, the Dockerfile) and the one function that renders them. See README.md here."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,  # a missing value is an error, never an empty string
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, /, **values: Any) -> str:
    """Render instance/<template> with `values`. Raises on any undefined name."""
    return _environment().get_template(template).render(**values)
