"""Login: the web password. Terraform generates it; only its bcrypt hash reaches user-data."""
from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_random.password import Password
from constructs import Construct

USERNAME = "opencode"  # OpenCode's Basic-auth user name; the proxy uses the same one.


@dataclass(frozen=True)
class LoginProps:
    length: int = 32


class Login(Construct):
    """Exposes `password` (the random_password), `username`, `password_value` (sensitive token)
    and `bcrypt_hash` (stable between deploys: it is computed once and kept in state)."""

    def __init__(self, scope: Construct, id: str, props: LoginProps) -> None:
        super().__init__(scope, id)
        self.username = USERNAME
        # No special characters: the password is typed into browser dialogs and shell commands.
        self.password = Password(self, "password", length=props.length, special=False, min_numeric=4)
        self.password_value: str = self.password.result
        self.bcrypt_hash: str = self.password.bcrypt_hash
