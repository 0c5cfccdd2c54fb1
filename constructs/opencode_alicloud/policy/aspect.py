"""Policy at synth, in the cdk-nag manner: every rule in policy/rules/ judges every resource
while the stack is synthesized. A violation is an error annotation (the rule id, the resource,
what is wrong and the fix), so the synth fails, unless config/policy-suppressions.toml suppresses
it with a written reason."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsii
from cdktf import (
    Annotations,
    App,
    Aspects,
    DefaultTokenResolver,
    IAspect,
    StringConcat,
    TerraformResource,
    TerraformStack,
    Tokenization,
)
from constructs import IConstruct

from .rules import Rule, all_rules
from .suppressions import SUPPRESSIONS_FILE, Finding, PolicyConfigError, Suppression, load_suppressions

ERROR_MARK = 'Encountered Annotations with level "ERROR"'


def add_policy(scope: IConstruct) -> None:
    """Judge every resource under `scope` at synth (suppressions from config/policy-suppressions.toml).
    A bad suppressions file fails the synth the same way, as an error on `scope`."""
    try:
        suppressions = load_suppressions(SUPPRESSIONS_FILE)
    except PolicyConfigError as error:
        Annotations.of(scope).add_error(str(error))
        return
    Aspects.of(scope).add(PolicyAspect(suppressions))


def synth_checked(app: App) -> list[str]:
    """Synthesize; return the policy's problems, or [] when it passed. A refused synth leaves nothing: cdktf
    writes each stack before it reports the errors, so the stacks of this app are removed again."""
    try:
        app.synth()
    except RuntimeError as error:
        if ERROR_MARK not in str(error):
            raise
        for stack in app.node.children:
            if isinstance(stack, TerraformStack):
                shutil.rmtree(Path(app.outdir) / "stacks" / stack.node.id, ignore_errors=True)
        # cdktf lists each error annotation as "[construct path] message".
        return [line.strip() for line in str(error).splitlines() if line.startswith("[")]
    return []


@jsii.implements(IAspect)
class PolicyAspect:
    def __init__(self, suppressions: list[Suppression], rules: list[Rule] | None = None) -> None:
        self.suppressions = suppressions
        self.rules = rules if rules is not None else all_rules()

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource):
            return
        rules = [rule for rule in self.rules if node.terraform_resource_type in rule.resource_types]
        if not rules:
            return
        resolved: dict[str, Any] = Tokenization.resolve(
            node.to_terraform(), scope=node, resolver=DefaultTokenResolver(StringConcat())
        )
        ((logical_id, conf),) = resolved["resource"][node.terraform_resource_type].items()
        for rule in rules:
            for problem in rule.violations(node.terraform_resource_type, conf):
                finding = Finding(rule.id, f"resource.{logical_id}", rule.title, (problem,))
                if any(s.matches(finding) for s in self.suppressions):
                    Annotations.of(node).add_info(f"{rule.id} suppressed: {problem}")
                    continue
                Annotations.of(node).add_error(
                    f"{rule.id} {node.terraform_resource_type}.{logical_id}: {problem}. Fix: {rule.fix}. ({rule.reason})"
                )
