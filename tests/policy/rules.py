"""Our own policy rules, on the JSON of a real ``terraform plan`` (``terraform show -json``) of one stack.

checkov checks generic good practice; these check the customer's rules: our KMS key everywhere data rests, 30-day
retention and 90-day expiration, the environment suffix in every name, nothing protected from destroy, no ``*`` on
``*``, no plaintext secret, trade routes behind authorization, every alarm telling the workspace's own topic. Each
rule returns violations naming the resource; an empty list means the stack complies.
tests/policy/test_rules_fail_on_broken_plans.py proves each rule can fail.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

from python_stacks.constants import LOG_RETENTION_DAYS, S3_EXPIRATION_DAYS


@dataclass(frozen=True)
class Violation:
    rule: str
    address: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.address}: {self.detail}"


@dataclass(frozen=True)
class Resource:
    address: str
    type: str
    index: Any
    values: Mapping[str, Any]  # planned values (after)
    unknown: Mapping[str, Any]  # after_unknown: True where Terraform learns the value only at apply

    def is_unknown(self, attribute: str) -> bool:
        return self.unknown.get(attribute) is True


@dataclass(frozen=True)
class StackPlan:
    """One stack's plan plus what its plan cannot show: the synthesized configuration and the modules it ships."""

    plan: Mapping[str, Any]
    workspace: str
    suffix: str
    config: Mapping[str, Any] = field(default_factory=dict)  # cdk.tf.json of the stack
    stack_dir: Path | None = None  # where the module assets (./assets/...) live

    @property
    def name(self) -> str:
        return str(self.config.get("//", {}).get("metadata", {}).get("stackName", f"plan-{self.workspace}"))

    def resources(self) -> list[Resource]:
        """Managed resources that exist after the plan is applied."""
        found = []
        for change in self.plan.get("resource_changes", []):
            actions = change["change"]["actions"]
            if change.get("mode") != "managed" or actions == ["delete"]:
                continue
            found.append(
                Resource(
                    change["address"],
                    change["type"],
                    change.get("index"),
                    change["change"].get("after") or {},
                    change["change"].get("after_unknown") or {},
                )
            )
        return found

    def data_sources(self) -> Iterator[Mapping[str, Any]]:
        def walk(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
            yield from (r for r in module.get("resources", []) if r.get("mode") == "data")
            for child in module.get("child_modules", []):
                yield from walk(child)

        yield from walk(self.plan.get("prior_state", {}).get("values", {}).get("root_module", {}))

    def configured_references(self) -> dict[str, dict[str, list[str]]]:
        """Configuration address (no index) -> attribute -> the addresses its expression refers to."""
        found: dict[str, dict[str, list[str]]] = {}

        def walk(module: Mapping[str, Any], prefix: str) -> None:
            for resource in module.get("resources", []):
                refs = {
                    name: expr.get("references", [])
                    for name, expr in resource.get("expressions", {}).items()
                    if isinstance(expr, Mapping)
                }
                found[prefix + resource["address"]] = {k: [prefix + r for r in v] for k, v in refs.items()}
            for name, call in module.get("module_calls", {}).items():
                walk(call.get("module", {}), f"{prefix}module.{name}.")

        walk(self.plan.get("configuration", {}).get("root_module", {}), "")
        return found


def config_address(address: str) -> str:
    """``module.api.aws_x.route["GET /health"]`` -> ``module.api.aws_x.route``."""
    return re.sub(r"\[[^\]]*\]", "", address)


Rule = Callable[[StackPlan], list[Violation]]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        RULES[name] = function
        return function

    return register


# --- data at rest uses our KMS key ----------------------------------------------------------------------------------

# Every resource type must be classified: a new type fails the rule until someone decides whether it stores data.
NO_DATA_AT_REST = frozenset(
    {
        # network, identity and routing configuration
        "aws_vpc",
        "aws_subnet",
        "aws_internet_gateway",
        "aws_nat_gateway",
        "aws_eip",
        "aws_route",
        "aws_route_table",
        "aws_route_table_association",
        "aws_security_group",
        "aws_security_group_rule",
        "aws_default_security_group",
        "aws_flow_log",  # delivers into a log group, which is checked
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_iam_policy",
        "aws_lambda_permission",
        "aws_lambda_alias",  # a pointer to a published version
        "aws_lambda_provisioned_concurrency_config",  # warm environments of an alias
        "aws_route53_zone",
        "aws_route53_record",
        # the key itself
        "aws_kms_key",
        "aws_kms_alias",
        # ACM keeps the certificate's private key itself; AWS offers no customer key for it
        "aws_acm_certificate",
        "aws_acm_certificate_validation",
        # API Gateway configuration (stage caching is off, see checkov skips CKV_AWS_120/225)
        "aws_api_gateway_rest_api",
        "aws_api_gateway_resource",
        "aws_api_gateway_method",
        "aws_api_gateway_integration",
        "aws_api_gateway_deployment",
        "aws_api_gateway_stage",
        "aws_api_gateway_method_settings",
        "aws_api_gateway_domain_name",
        "aws_api_gateway_base_path_mapping",
        "aws_api_gateway_account",
        "aws_api_gateway_request_validator",
        # WAF configuration (its logs go to log groups, which are checked)
        "aws_wafv2_web_acl",
        "aws_wafv2_web_acl_association",
        "aws_wafv2_web_acl_logging_configuration",
        "aws_cloudwatch_log_resource_policy",
        # RDS configuration around the cluster
        "aws_db_subnet_group",
        "aws_db_parameter_group",
        "aws_rds_cluster_parameter_group",
        # S3 bucket settings (the bucket's data is checked through its encryption configuration)
        "aws_s3_bucket",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
        # Terraform-only resources: their values live in the (encrypted) state, not in AWS
        "terraform_data",
        "aws_lambda_invocation",
        # operations: alarm and dashboard definitions, and who the (encrypted) topic delivers to
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_composite_alarm",
        "aws_cloudwatch_dashboard",
        "aws_sns_topic_policy",
        "aws_sns_topic_subscription",
    }
)


def our_key_arn(stack: StackPlan) -> str | None:
    """The ARN behind the workspace's alias, as the plan read it (the key belongs to the data-protection stack)."""
    for data in stack.data_sources():
        if data.get("type") == "aws_kms_alias":
            return data.get("values", {}).get("target_key_arn")
    return None


def _first(block: Any) -> Mapping[str, Any]:
    return block[0] if isinstance(block, list) and block else block if isinstance(block, Mapping) else {}


def _key_checks(r: Resource) -> list[tuple[str, Any]]:
    """(attribute, value) pairs of ``r`` that must name our key; an empty attribute name marks a wrong setting."""
    v = r.values
    if r.type == "aws_cloudwatch_log_group":
        return [("kms_key_id", v.get("kms_key_id"))]
    if r.type == "aws_s3_object":
        return [("kms_key_id", v.get("kms_key_id")), ("server_side_encryption", v.get("server_side_encryption"))]
    if r.type == "aws_s3_bucket_server_side_encryption_configuration":
        rules = v.get("rule") or [{}]
        return [
            pair
            for rule_ in rules
            for pair in (
                (
                    "kms_master_key_id",
                    _first(rule_.get("apply_server_side_encryption_by_default")).get("kms_master_key_id"),
                ),
                ("sse_algorithm", _first(rule_.get("apply_server_side_encryption_by_default")).get("sse_algorithm")),
            )
        ]
    if r.type == "aws_rds_cluster":
        pairs = [("kms_key_id", v.get("kms_key_id")), ("storage_encrypted", v.get("storage_encrypted"))]
        if v.get("manage_master_user_password"):
            pairs.append(("master_user_secret_kms_key_id", v.get("master_user_secret_kms_key_id")))
        return pairs
    if r.type in ("aws_rds_cluster_instance", "aws_db_instance"):
        pairs = [("performance_insights_kms_key_id", v.get("performance_insights_kms_key_id"))]
        return pairs if v.get("performance_insights_enabled") else []
    if r.type == "aws_lambda_function":
        return [("kms_key_arn", v.get("kms_key_arn"))]
    if r.type == "aws_secretsmanager_secret":
        return [("kms_key_id", v.get("kms_key_id"))]
    if r.type == "aws_sns_topic":
        return [("kms_master_key_id", v.get("kms_master_key_id"))]
    return []


AT_REST = frozenset(
    {
        "aws_cloudwatch_log_group",
        "aws_s3_object",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_rds_cluster",
        "aws_rds_cluster_instance",
        "aws_db_instance",
        "aws_lambda_function",
        "aws_secretsmanager_secret",
        "aws_sns_topic",  # alert notifications wait in the topic until delivered
    }
)
_EXPECTED_SETTINGS = {"server_side_encryption": "aws:kms", "sse_algorithm": "aws:kms", "storage_encrypted": True}


@rule("our-kms-key")
def data_at_rest_uses_our_key(stack: StackPlan) -> list[Violation]:
    violations = []
    key = our_key_arn(stack)
    resources = stack.resources()
    stores = [r for r in resources if r.type in AT_REST]
    if stores and not key:
        violations.append(Violation("our-kms-key", stack.name, "the plan read no aws_kms_alias: cannot tell our key"))
    for r in resources:
        if r.type not in AT_REST and r.type not in NO_DATA_AT_REST:
            violations.append(
                Violation(
                    "our-kms-key",
                    r.address,
                    f"resource type {r.type} is not classified: add it to "
                    "AT_REST (with its key attributes) or NO_DATA_AT_REST in tests/policy/rules.py",
                )
            )
    for r in stores:
        for attribute, value in _key_checks(r):
            expected = _EXPECTED_SETTINGS.get(attribute, key)
            if value != expected:
                shown = "unknown at plan time" if r.is_unknown(attribute) else repr(value)
                violations.append(Violation("our-kms-key", r.address, f"{attribute} is {shown}, expected {expected!r}"))
    # A bucket is encrypted with our key only if an encryption configuration targets it.
    violations += _buckets_without("aws_s3_bucket_server_side_encryption_configuration", stack, "our-kms-key")
    return violations


def _buckets_without(setting_type: str, stack: StackPlan, rule_name: str) -> list[Violation]:
    references = stack.configured_references()
    planned = {config_address(r.address) for r in stack.resources() if r.type == setting_type}
    covered = {ref for addr in planned for ref in references.get(addr, {}).get("bucket", [])}
    return [
        Violation(rule_name, r.address, f"no {setting_type} refers to this bucket")
        for r in stack.resources()
        if r.type == "aws_s3_bucket" and config_address(r.address) not in covered
    ]


# --- retention: 30 days for logs, 90 days for objects --------------------------------------------------------------


@rule("retention")
def retention_and_expiration(stack: StackPlan) -> list[Violation]:
    violations = []
    for r in stack.resources():
        if r.type == "aws_cloudwatch_log_group" and r.values.get("retention_in_days") != LOG_RETENTION_DAYS:
            violations.append(
                Violation(
                    "retention",
                    r.address,
                    f"retention_in_days is {r.values.get('retention_in_days')!r}, expected {LOG_RETENTION_DAYS}",
                )
            )
        if r.type == "aws_s3_bucket_lifecycle_configuration":
            rules = [x for x in r.values.get("rule") or [] if x.get("status") == "Enabled"]
            expiring = [x for x in rules if not _removes_delete_markers_only(x)]
            if not expiring:
                violations.append(Violation("retention", r.address, "no enabled lifecycle rule"))
            for x in expiring:
                days = _first(x.get("expiration")).get("days")
                noncurrent = _first(x.get("noncurrent_version_expiration")).get("noncurrent_days")
                if days != S3_EXPIRATION_DAYS or noncurrent != S3_EXPIRATION_DAYS:
                    violations.append(
                        Violation(
                            "retention",
                            r.address,
                            f"rule {x.get('id')!r} expires objects after "
                            f"{days!r} days and old versions after {noncurrent!r}, expected "
                            f"{S3_EXPIRATION_DAYS} for both",
                        )
                    )
            if expiring and len(expiring) == len(rules):
                # Expired current versions leave delete markers; S3 drops such a marker, once it is the only
                # version left, only under an expired_object_delete_marker rule (or when it reaches the age again).
                violations.append(
                    Violation("retention", r.address, "no enabled rule removes expired object delete markers")
                )
    violations += _buckets_without("aws_s3_bucket_lifecycle_configuration", stack, "retention")
    return violations


def _removes_delete_markers_only(rule_: Mapping[str, Any]) -> bool:
    """A rule whose only action is ``expiration { expired_object_delete_marker = true }``."""
    expiration = _first(rule_.get("expiration"))
    return (
        expiration.get("expired_object_delete_marker") is True
        and not expiration.get("days")
        and not (_first(rule_.get("noncurrent_version_expiration")).get("noncurrent_days"))
    )


# --- names carry the environment suffix ----------------------------------------------------------------------------

# The attribute that is the resource's own name, where it is not `name`.
NAME_ATTRIBUTE = {
    "aws_s3_bucket": "bucket",
    "aws_lambda_function": "function_name",
    "aws_rds_cluster": "cluster_identifier",
    "aws_rds_cluster_instance": "identifier",
    "aws_db_instance": "identifier",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_cloudwatch_composite_alarm": "alarm_name",
    "aws_cloudwatch_dashboard": "dashboard_name",
}
# Their `name` is a DNS name chosen by TRADING_DOMAIN (the zone of prod is the bare domain), not a resource name.
DNS_NAMED = frozenset({"aws_route53_zone", "aws_route53_record"})
# Types whose `name` attribute refers to another resource instead of naming this one.
NAME_IS_A_REFERENCE = frozenset({"aws_lambda_permission", "aws_iam_role_policy_attachment"})


@dataclass(frozen=True)
class NameException:
    type: str
    pattern: str  # {suffix} and {stage} are filled in; matched against the whole name
    why: str
    # Where the name is only known after apply (it contains a generated id): the addresses allowed to have it so.
    unknown_at: str | None = None


NAME_EXCEPTIONS = (
    NameException(
        "aws_lambda_alias",
        "live",
        "An alias is a qualifier inside its function's name (trades-api-<suffix>:live), like a stage inside its API.",
    ),
    NameException(
        "aws_cloudwatch_log_group",
        r"API-Gateway-Execution-Logs_[a-z0-9]+/{stage}",
        "API Gateway writes execution logs to this AWS-fixed name (API id / stage).",
        unknown_at=r"module\.api\.aws_cloudwatch_log_group\.execution(\[0\])?",
    ),
    NameException(
        "aws_cloudwatch_log_group",
        r"/aws/rds/cluster/aurora-{suffix}/(audit|error|general|slowquery|"
        r"iam-db-auth-error)",
        "RDS exports cluster logs to /aws/rds/cluster/<cluster>/<log type>; the suffix is in the cluster name.",
    ),
    NameException(
        "aws_default_security_group",
        "default",
        "The VPC's default group is always named `default` by AWS; its Name tag carries the suffix.",
        unknown_at=r"module\.vpc\.aws_default_security_group\.this(\[0\])?",
    ),
)


def _excepted(r: Resource, name: str | None, stack: StackPlan) -> bool:
    for exception in NAME_EXCEPTIONS:
        if exception.type != r.type:
            continue
        if name is None and exception.unknown_at and re.fullmatch(exception.unknown_at, r.address):
            return True
        pattern = exception.pattern.format(suffix=re.escape(stack.suffix), stage=re.escape(stack.workspace))
        if name is not None and re.fullmatch(pattern, name):
            return True
    return False


@rule("suffix")
def names_carry_the_suffix(stack: StackPlan) -> list[Violation]:
    violations = []
    ending = f"-{stack.suffix}"
    for r in stack.resources():
        if r.type in DNS_NAMED:
            continue
        names: list[tuple[str, str | None]] = []
        attribute = NAME_ATTRIBUTE.get(r.type, "name")
        if r.type not in NAME_IS_A_REFERENCE and (attribute in r.values or r.is_unknown(attribute)):
            value = r.values.get(attribute)
            if value is not None or r.is_unknown(attribute):
                names.append((attribute, value))
        tags = r.values.get("tags")
        if isinstance(tags, Mapping) and "Name" in tags:
            names.append(("tags.Name", tags["Name"]))
        for where, name in names:
            if name is not None and name.endswith(ending):
                continue
            if _excepted(r, name, stack):
                continue
            shown = "unknown at plan time" if name is None else repr(name)
            violations.append(
                Violation(
                    "suffix",
                    r.address,
                    f"{where} {shown} does not end with {ending!r} "
                    "(add a commented NameException if AWS fixes the name)",
                )
            )
    return violations


# --- nothing protected from destroy ---------------------------------------------------------------------------------

PROTECTION_FLAGS = frozenset(
    {
        "deletion_protection",
        "enable_deletion_protection",
        "termination_protection",
        "disable_api_termination",
        "skip_destroy",
        "prevent_destroy",
        "retain_on_delete",
    }
)
# Without force_destroy these cannot be deleted while they hold content Terraform does not manage (object versions,
# records made by others): in effect a retain flag.
FORCE_DESTROY = frozenset({"aws_s3_bucket", "aws_route53_zone"})


def _flags(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in PROTECTION_FLAGS and item not in (False, None, "false"):
                yield where, item
            yield from _flags(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _flags(item, f"{path}[{i}]")


@rule("destroyable")
def nothing_is_protected_from_destroy(stack: StackPlan) -> list[Violation]:
    violations = []
    for r in stack.resources():
        violations += [Violation("destroyable", r.address, f"{where} = {value!r}") for where, value in _flags(r.values)]
        if r.type in FORCE_DESTROY and r.values.get("force_destroy") is not True:
            violations.append(
                Violation("destroyable", r.address, "force_destroy is not true: destroy fails while it holds content")
            )
    violations += [
        Violation("destroyable", where, "lifecycle.prevent_destroy is set") for where in prevent_destroy_settings(stack)
    ]
    return violations


def prevent_destroy_settings(stack: StackPlan) -> list[str]:
    """``lifecycle.prevent_destroy`` is not in the plan JSON: read it from the stack and the modules it ships."""
    found = [
        f"{kind}.{name}"
        for block in ("resource", "data")
        for kind, items in stack.config.get(block, {}).items()
        for name, body in items.items()
        if _first(body.get("lifecycle")).get("prevent_destroy")
    ]
    for call, directory in module_sources(stack).items():
        for path in sorted(directory.glob("*.tf")):
            for kind, name, body in _hcl_resources(path):
                if _first(body.get("lifecycle")).get("prevent_destroy") not in (None, False, "false"):
                    found.append(f"module.{call}.{kind}.{name}")
    return found


_HCL = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def _hcl_resources(path: Path) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    with path.open() as handle:
        parsed = hcl2.load(handle, serialization_options=_HCL)
    for entry in parsed.get("resource", []):
        for kind, items in entry.items():
            for name, body in items.items():
                yield kind, name, body


def module_sources(stack: StackPlan) -> dict[str, Path]:
    """Module call name -> the module folder the stack ships (``./assets/<module>/<hash>``)."""
    if stack.stack_dir is None:
        return {}
    return {
        name: stack.stack_dir / block["source"]
        for name, block in stack.config.get("module", {}).items()
        if str(block.get("source", "")).startswith("./")
    }


# --- no "*" actions on "*" resources ------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_statements(document: Mapping[str, Any]) -> list[str]:
    """Sids (or positions) of Allow statements granting every action (or everything but a few) on every resource."""
    found = []
    for i, statement in enumerate(_as_list(document.get("Statement", []))):
        if not isinstance(statement, Mapping) or statement.get("Effect", "Allow") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        all_actions = any(a in ("*", "*:*") for a in actions) or "NotAction" in statement
        all_resources = "*" in _as_list(statement.get("Resource", [])) or "NotResource" in statement
        if all_actions and all_resources:
            found.append(str(statement.get("Sid") or f"statement {i}"))
    return found


def _policy_document(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, str) and '"Statement"' in value:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, Mapping) and "Statement" in parsed else None
    return None


def _documents_in(value: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    document = _policy_document(value)
    if document is not None:
        yield path, document
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _documents_in(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _documents_in(item, f"{path}[{i}]")


POLICY_ATTRIBUTES = ("policy", "assume_role_policy")


def _hcl_policy(expression: Any) -> Mapping[str, Any] | None:
    """``${jsonencode({...})}`` as python-hcl2 prints it -> the document, references left as strings."""
    if not isinstance(expression, str):
        return None
    match = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", expression, re.DOTALL)
    if not match:
        return _policy_document(expression)
    parsed = hcl2.loads(f"x = {match.group(1)}", serialization_options=_HCL)["x"]
    return parsed if isinstance(parsed, Mapping) else None


def _policy_document_data(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """An ``aws_iam_policy_document`` data source, as IAM JSON (only what the rule reads)."""
    statements = [
        {
            "Sid": s.get("sid"),
            "Effect": s.get("effect", "Allow"),
            "Action": s.get("actions", []),
            "Resource": s.get("resources", []),
            **({"NotAction": s["not_actions"]} if s.get("not_actions") else {}),
            **({"NotResource": s["not_resources"]} if s.get("not_resources") else {}),
        }
        for s in _as_list(body.get("statement", []))
    ]
    return {"Statement": statements}


_DOCUMENT_REFERENCE = re.compile(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}")


def static_policies(stack: StackPlan) -> dict[str, Mapping[str, Any]]:
    """Policy documents as written (``<config address>.<attribute>``), for those the plan knows only at apply."""
    documents = {
        name: _policy_document_data(body)
        for name, body in stack.config.get("data", {}).get("aws_iam_policy_document", {}).items()
    }
    found: dict[str, Mapping[str, Any]] = {
        f"data.aws_iam_policy_document.{name}.json": document for name, document in documents.items()
    }
    for kind, items in stack.config.get("resource", {}).items():
        for name, body in items.items():
            for attribute in POLICY_ATTRIBUTES:
                value = body.get(attribute)
                reference = _DOCUMENT_REFERENCE.fullmatch(value) if isinstance(value, str) else None
                document = documents.get(reference.group(1)) if reference else _policy_document(value)
                if document is not None:
                    found[f"{kind}.{name}.{attribute}"] = document
    for call, directory in module_sources(stack).items():
        for path in sorted(directory.glob("*.tf")):
            for kind, name, body in _hcl_resources(path):
                for attribute in POLICY_ATTRIBUTES:
                    document = _hcl_policy(body.get(attribute))
                    if document is not None:
                        found[f"module.{call}.{kind}.{name}.{attribute}"] = document
    return found


@rule("no-star-on-star")
def no_wildcard_actions_on_wildcard_resources(stack: StackPlan) -> list[Violation]:
    violations = []
    static = static_policies(stack)
    for where, document in static.items():
        violations += [
            Violation("no-star-on-star", where, f"{sid} allows every action on every resource")
            for sid in wildcard_statements(document)
        ]
    references = stack.configured_references()
    for r in stack.resources():
        for path, document in _documents_in(r.values):
            violations += [
                Violation("no-star-on-star", f"{r.address}.{path}", f"{sid} allows every action on every resource")
                for sid in wildcard_statements(document)
            ]
        for attribute in POLICY_ATTRIBUTES:
            # Only what the code sets: computed policy attributes (a bucket's, an API's) are unknown but unset.
            configured = attribute in references.get(config_address(r.address), {})
            if configured and r.is_unknown(attribute) and f"{config_address(r.address)}.{attribute}" not in static:
                violations.append(
                    Violation(
                        "no-star-on-star",
                        r.address,
                        f"{attribute} is only known at apply time and not found as written in the stack or its modules",
                    )
                )
    return violations


# --- no plaintext secrets ---------------------------------------------------------------------------------------------

SECRET_KEY = re.compile(
    r"(password|passwd|passphrase|secret|secret_key|secret_string|private_key|token|api_key)$", re.IGNORECASE
)
SECRET_VALUE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# The local target's provider block carries the emulator's fixed test credentials (python_stacks/target.py);
# they open nothing anywhere else.
EMULATOR_CREDENTIAL = "test"


def plaintext_secrets(document: Any, path: str = "") -> list[str]:
    """Paths in any JSON (synthesized stack, plan, state) where a secret-looking key holds a literal value."""
    found = []
    if isinstance(document, Mapping):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            literal = value.get("constant_value") if isinstance(value, Mapping) and "constant_value" in value else value
            if SECRET_KEY.search(str(key)) and isinstance(literal, str) and literal.strip():
                is_reference = literal.startswith(("${", "arn:"))
                is_emulator = literal == EMULATOR_CREDENTIAL and "provider" in where
                if not (is_reference or is_emulator):
                    found.append(where)
            found += plaintext_secrets(value, where)
    elif isinstance(document, list):
        for i, item in enumerate(document):
            found += plaintext_secrets(item, f"{path}[{i}]")
    elif isinstance(document, str) and SECRET_VALUE.search(document):
        found.append(path)
    return found


@rule("no-plaintext-secret")
def no_plaintext_secret(stack: StackPlan) -> list[Violation]:
    # Resources by address; the rest of the plan (configuration, variables, data sources, outputs) by path.
    # planned_values repeats resource_changes' values.
    rest = {k: v for k, v in stack.plan.items() if k not in ("resource_changes", "planned_values")}
    sources = [(r.address, r.values) for r in stack.resources()] + [("plan", rest), ("synth", stack.config)]
    return [
        Violation("no-plaintext-secret", where, "holds a literal secret value")
        for prefix, document in sources
        for where in plaintext_secrets(document, prefix)
    ]


# --- trade routes require authorization ------------------------------------------------------------------------------

PUBLIC_ROUTES = frozenset({"GET /health"})  # for load balancers and probes; returns no data
TRADE_ROUTES = frozenset({"POST /trades", "GET /trades/{id}"})
AUTHORIZED = frozenset({"AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"})


@rule("trade-routes-authorized")
def trade_routes_require_authorization(stack: StackPlan) -> list[Violation]:
    methods = [r for r in stack.resources() if r.type == "aws_api_gateway_method"]
    if not methods:
        return []
    violations = []
    routes = set()
    for r in methods:
        route = r.index if isinstance(r.index, str) and " /" in r.index else None
        if route is None:
            violations.append(
                Violation(
                    "trade-routes-authorized",
                    r.address,
                    "method not keyed by its route ('METHOD /path'): the rule cannot tell whether it is public",
                )
            )
            continue
        routes.add(route)
        if route not in PUBLIC_ROUTES and r.values.get("authorization") not in AUTHORIZED:
            violations.append(
                Violation("trade-routes-authorized", r.address, f"authorization is {r.values.get('authorization')!r}")
            )
    violations += [
        Violation("trade-routes-authorized", stack.name, f"route {route!r} is missing from the plan")
        for route in sorted(TRADE_ROUTES - routes)
    ]
    return violations


# --- every alarm notifies the workspace's own topic ------------------------------------------------------------------

ALARM_TYPES = frozenset({"aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm"})
ALARM_ACTIONS = ("alarm_actions", "ok_actions")
_TOPIC_REFERENCE = re.compile(r"^(?P<address>(module\.[^.]+\.)*aws_sns_topic\.[^.\[]+)(\[[^\]]*\])?(\.arn)?$")


def configured_sources(stack: StackPlan, address: str, attribute: str) -> set[str]:
    """What ``attribute`` of the resource at configuration ``address`` refers to, followed through module variables
    into the calling module (``module.aurora.var.x`` -> the expression the root passes as ``x``)."""
    calls: dict[str, Mapping[str, Any]] = {}

    def walk(module: Mapping[str, Any], prefix: str) -> None:
        for name, call in module.get("module_calls", {}).items():
            calls[f"{prefix}module.{name}."] = {"expressions": call.get("expressions", {}), "parent": prefix}
            walk(call.get("module", {}), f"{prefix}module.{name}.")

    walk(stack.plan.get("configuration", {}).get("root_module", {}), "")
    found = set(stack.configured_references().get(address, {}).get(attribute, []))
    resolved = False
    while not resolved:  # one module level per pass, until only resource references are left
        resolved = True
        for ref in sorted(found):
            variable = re.fullmatch(r"(?P<prefix>(module\.[^.]+\.)+)var\.(?P<name>[A-Za-z0-9_-]+)", ref)
            if variable and variable.group("prefix") in calls:
                call = calls[variable.group("prefix")]
                expression = call["expressions"].get(variable.group("name"), {})
                found.discard(ref)
                found.update(call["parent"] + r for r in expression.get("references", []))
                resolved = False
    return found


def _planned_topics(stack: StackPlan) -> dict[str, Resource]:
    return {config_address(r.address): r for r in stack.resources() if r.type == "aws_sns_topic"}


@rule("alarms-notify")
def alarms_notify_the_workspace_topic(stack: StackPlan) -> list[Violation]:
    """Every alarm is enabled, says what to check first, and tells the workspace's own topic on ALARM and on OK."""
    violations = []
    topics = _planned_topics(stack)
    topic_names = {t.values.get("name") for t in topics.values()}
    for r in stack.resources():
        if r.type not in ALARM_TYPES:
            continue
        if r.values.get("actions_enabled") is not True:
            violations.append(Violation("alarms-notify", r.address, "actions_enabled is not true: nobody is told"))
        description = r.values.get("alarm_description") or ""
        if "First check" not in description:
            violations.append(
                Violation("alarms-notify", r.address, "alarm_description does not say what to check first")
            )
        for attribute in ALARM_ACTIONS:
            known = [a for a in r.values.get(attribute) or [] if a is not None]
            unknown = r.unknown.get(attribute)
            pending = unknown is True or (isinstance(unknown, list) and any(unknown))
            if not known and not pending:
                violations.append(Violation("alarms-notify", r.address, f"{attribute} is empty: nobody is told"))
                continue
            for arn in known:
                if not (arn.startswith("arn:aws:sns:") and arn.rsplit(":", 1)[-1] in topic_names):
                    violations.append(
                        Violation("alarms-notify", r.address, f"{attribute} {arn!r} is not this workspace's topic")
                    )
            if pending:
                sources = {
                    m.group("address")
                    for ref in configured_sources(stack, config_address(r.address), attribute)
                    if (m := _TOPIC_REFERENCE.match(ref))
                }
                if not sources or not sources <= set(topics):
                    violations.append(
                        Violation(
                            "alarms-notify",
                            r.address,
                            f"{attribute} is only known at apply time and refers to no topic of this stack "
                            f"({sorted(sources) or 'no topic at all'})",
                        )
                    )
    return violations


_ALARM_IN_RULE = re.compile(r'ALARM\("([^"]+)"\)|ALARM\(([^)"]+)\)')


@rule("composite-within-workspace")
def composite_alarms_watch_only_this_workspace(stack: StackPlan) -> list[Violation]:
    """A composite alarm may only combine alarms of this stack (the names are known at plan time)."""
    violations = []
    alarms = {r.values.get("alarm_name") for r in stack.resources() if r.type in ALARM_TYPES}
    for r in stack.resources():
        if r.type != "aws_cloudwatch_composite_alarm":
            continue
        rule_text = r.values.get("alarm_rule")
        if not isinstance(rule_text, str):
            violations.append(Violation("composite-within-workspace", r.address, "alarm_rule unknown at plan time"))
            continue
        members = [a or b for a, b in _ALARM_IN_RULE.findall(rule_text)]
        if not members:
            violations.append(Violation("composite-within-workspace", r.address, "alarm_rule names no alarm"))
        violations += [
            Violation("composite-within-workspace", r.address, f"alarm_rule watches {name!r}, no alarm of this stack")
            for name in members
            if name not in alarms
        ]
    return violations


# --- only the migration reads the master secret ----------------------------------------------------------------------

MIGRATION_HANDLER = "handlers.migrate.handler"  # python_stacks/aws/lambda_package.py MIGRATE
# The RDS-managed master secret, as the stack refers to it (the aurora module's output).
MASTER_SECRET_REFERENCE = re.compile(r"master_user_secret")
_READS_SECRETS = ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue")
_ROLE_REFERENCE = re.compile(r"^\$\{aws_iam_role\.([A-Za-z0-9_-]+)\.(?:arn|id|name)\}$")


def _grants_secret_read(statement: Mapping[str, Any]) -> bool:
    actions = [str(a) for a in _as_list(statement.get("Action", []))]
    return statement.get("Effect", "Allow") == "Allow" and (
        "NotAction" in statement or any(fnmatch.fnmatchcase(wanted, a) for a in actions for wanted in _READS_SECRETS)
    )


def _covers_master_secret(statement: Mapping[str, Any]) -> bool:
    resources = [str(r) for r in _as_list(statement.get("Resource", []))]
    # "*" and secretsmanager wildcards match the master secret too; so does any reference to it.
    return "NotResource" in statement or any(
        MASTER_SECRET_REFERENCE.search(r) or r == "*" or (r.startswith("arn:") and "*" in r and "secret" in r)
        for r in resources
    )


@rule("master-secret-migration-only")
def only_the_migration_reads_the_master_secret(stack: StackPlan) -> list[Violation]:
    resources = stack.config.get("resource", {})
    static = static_policies(stack)
    violations = []
    for name, function in resources.get("aws_lambda_function", {}).items():
        if function.get("handler") == MIGRATION_HANDLER:
            continue
        address = f"aws_lambda_function.{name}"
        variables = _first(function.get("environment")).get("variables") or {}
        violations += [
            Violation("master-secret-migration-only", address, f"environment {key} names the master secret")
            for key, value in variables.items()
            if isinstance(value, str) and MASTER_SECRET_REFERENCE.search(value)
        ]
        role = _ROLE_REFERENCE.match(str(function.get("role", "")))
        if role is None:
            violations.append(
                Violation("master-secret-migration-only", address, "role is not a role of this stack: cannot check it")
            )
            continue
        for kind in ("aws_iam_role_policy", "aws_iam_role_policy_attachment"):
            for policy_name, policy in resources.get(kind, {}).items():
                attached = _ROLE_REFERENCE.match(str(policy.get("role", "")))
                if attached is None or attached.group(1) != role.group(1):
                    continue
                where = f"{kind}.{policy_name}"
                if kind == "aws_iam_role_policy_attachment":
                    violations.append(
                        Violation(
                            "master-secret-migration-only",
                            where,
                            "managed policy on a function role: cannot tell whether it reads the master secret",
                        )
                    )
                    continue
                document = static.get(f"{where}.policy")
                if document is None:
                    violations.append(
                        Violation("master-secret-migration-only", where, "policy not found as written: cannot check it")
                    )
                    continue
                violations += [
                    Violation(
                        "master-secret-migration-only",
                        where,
                        f"{statement.get('Sid') or 'a statement'} lets {address} read the master secret",
                    )
                    for statement in _as_list(document.get("Statement", []))
                    if isinstance(statement, Mapping)
                    and _grants_secret_read(statement)
                    and _covers_master_secret(statement)
                ]
    return violations
