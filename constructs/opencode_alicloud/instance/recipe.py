"""The bake recipe (bake.sh.j2): one file for a from-scratch first boot, ECS Image Builder and the boot
rehearsal's bake. Its digest names the image it makes, so a changed recipe or OpenCode version is a new image."""
from __future__ import annotations

import base64
import gzip
import hashlib
import re
from dataclasses import dataclass

from . import render
from .layout import HOST_PACKAGES, METADATA_REJECT, NPM_SHA512, NPM_VERSION, WORKSPACE_IMAGE

BAKE_SCRIPT = "/usr/local/sbin/opencode-bake"
IMAGE_PREFIX = "opencode-"
# Image Builder's limit on a template's build content (CreateImagePipeline: "cannot exceed 16 KB").
BUILD_CONTENT_LIMIT = 16 * 1024
# alicloud_ecs_image_pipeline.image_name (provider 1.289.0): 2-64 characters.
IMAGE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9:._-]{1,63}$")


def workspace_dockerfile(opencode_version: str) -> str:
    """The workspace image's Dockerfile (baked on the host; with egress none, by the operator: scripts/workspace-image)."""
    return render("Dockerfile.j2", npm_version=NPM_VERSION, npm_sha512=NPM_SHA512, version=opencode_version)


@dataclass(frozen=True)
class Recipe:
    """The rendered recipe for one OpenCode version and image family."""

    text: str
    opencode_version: str
    image_family: str

    @classmethod
    def of(cls, opencode_version: str, image_family: str) -> Recipe:
        text = render("bake.sh.j2", version=opencode_version, family=image_family, packages=HOST_PACKAGES[image_family],
                      tag=WORKSPACE_IMAGE.format(version=opencode_version), metadata_rule=METADATA_REJECT,
                      dockerfile=workspace_dockerfile(opencode_version).rstrip("\n"))
        return cls(text, opencode_version, image_family)

    @property
    def digest(self) -> str:
        """The first 12 hex digits of the recipe's SHA-256 (what `sha256sum` prints for the file on the host)."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]

    @property
    def image_name(self) -> str:
        """The baked image's name (Image Builder appends `_<execution id>`): the version, the family, the digest."""
        return f"{IMAGE_PREFIX}{self.opencode_version}-{self.image_family}-{self.digest}"

    @property
    def image_name_regex(self) -> str:
        """Every image this recipe made (`alicloud_images.name_regex`)."""
        return "^" + self.image_name.replace(".", "\\.") + "_"

    def build_content(self) -> str:
        """Image Builder's build content: one RUN that writes the recipe (gzip + base64: no quoting to get
        wrong) and runs it with --seal."""
        packed = base64.b64encode(gzip.compress(self.text.encode(), mtime=0)).decode()
        return (f"RUN echo {packed} | base64 -d | gunzip >{BAKE_SCRIPT} && chmod 0700 {BAKE_SCRIPT} "
                f"&& {BAKE_SCRIPT} --seal")

    def problems(self) -> list[tuple[str, str]]:
        """What Image Builder would refuse, as settings problems (the version is the only free text in it)."""
        found = []
        if not IMAGE_NAME.fullmatch(self.image_name):
            found.append(("opencode_version", f"makes the baked image's name {self.image_name!r}, which Image Builder "
                                              "refuses (2-64 characters of letters, digits, ':', '.', '_', '-')"))
        if len(self.build_content().encode()) > BUILD_CONTENT_LIMIT:
            found.append(("opencode_version", f"the bake recipe is over Image Builder's {BUILD_CONTENT_LIMIT} bytes"))
        return found
