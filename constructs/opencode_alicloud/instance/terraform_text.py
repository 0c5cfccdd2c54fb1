"""Text as Terraform reads it: every string in cdk.tf.json is a template, so literal text is escaped."""
from __future__ import annotations

import re

_LITERAL_INTERPOLATION = re.compile(r"(?<!\$)\$\{(?!TfToken\[)|(?<!%)%\{")


def escape_for_terraform(text: str) -> str:
    """Terraform reads every string in cdk.tf.json as a template: `${` and `%{` in our
    scripts must become `$${` and `%%{`. cdktf tokens (`${TfToken[...]}`) stay as they are."""
    return _LITERAL_INTERPOLATION.sub(lambda m: m.group(0)[0] + m.group(0), text)


def literal_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags as Terraform literals: free text from settings is never evaluated as an expression."""
    return {escape_for_terraform(key): escape_for_terraform(value) for key, value in tags.items()}
