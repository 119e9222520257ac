"""The checkov side of the gate (tools/policy/) without running checkov: the skip list is well-formed, a skip
covers only what it names, and a skip that matches nothing fails the gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.policy import SKIP_FILE, Finding, PolicyError, ScanResult, Skip, judge, load_skips, typed_address


def finding(check: str, resource: str, scan: str = "plan") -> Finding:
    return Finding(scan, check, "a check", resource, "/dev.json")


def test_the_skip_list_is_well_formed_and_every_skip_gives_a_reason() -> None:
    skips = load_skips()
    assert skips, f"{SKIP_FILE} lists no skip"
    assert all(len(s.reason) >= 40 for s in skips)


HEALTH = Skip("CKV_AWS_59", ('*aws_api_gateway_method.route["GET /health"]',), "x" * 40)


def test_a_skip_covers_only_the_resources_it_names() -> None:
    verdict = judge(
        [
            ScanResult(
                "plan",
                1,
                failed=[
                    finding("CKV_AWS_59", 'module.api.aws_api_gateway_method.route["GET /health"]'),
                    finding("CKV_AWS_59", 'module.api.aws_api_gateway_method.route["POST /trades"]'),
                    finding("CKV_AWS_116", 'module.api.aws_api_gateway_method.route["GET /health"]'),
                ],
            )
        ],
        [HEALTH],
    )
    assert [(f.check_id, f.resource) for f in verdict.unexplained] == [
        ("CKV_AWS_59", 'module.api.aws_api_gateway_method.route["POST /trades"]'),
        ("CKV_AWS_116", 'module.api.aws_api_gateway_method.route["GET /health"]'),
    ]
    assert not verdict.ok


def test_a_skip_limited_to_a_scan_does_not_cover_the_others() -> None:
    synth_only = Skip("CKV_AWS_356", ("data.aws_iam_policy_document.kms_policy_*",), "x" * 40, scans=("synth",))
    verdict = judge(
        [ScanResult("plan", 1, failed=[finding("CKV_AWS_356", "data.aws_iam_policy_document.kms_policy_1")])],
        [synth_only],
    )
    assert len(verdict.unexplained) == 1 and verdict.unused == [synth_only]


def test_a_skip_that_matches_nothing_fails_the_gate() -> None:
    verdict = judge([ScanResult("plan", 1)], [HEALTH])
    assert verdict.unexplained == [] and verdict.unused == [HEALTH] and not verdict.ok


def test_all_findings_explained_and_all_skips_used_passes() -> None:
    verdict = judge(
        [
            ScanResult(
                "modules", 1, failed=[finding("CKV_AWS_59", 'aws_api_gateway_method.route["GET /health"]', "modules")]
            )
        ],
        [HEALTH],
    )
    assert verdict.ok and verdict.skipped == {"modules": 1}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- check: CKV_AWS_338\n  resources: ['*']\n  reason: " + "r" * 50, "must name a resource type"),
        (
            "- check: CKV_AWS_338\n  resources: ['*aws_cloudwatch_log_group.*']\n  reason: later",
            "must name the requirement",
        ),
        ("- check: ALL\n  resources: ['*aws_s3_bucket.*']\n  reason: " + "r" * 50, "is not a checkov AWS check id"),
        (
            "- check: CKV_AWS_18\n  resources: ['*aws_s3_bucket.*']\n  scans: [everything]\n  reason: " + "r" * 50,
            "unknown scans",
        ),
    ],
    ids=["no resource type", "no reason", "not a check id", "unknown scan"],
)
def test_malformed_skips_are_rejected(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "checkov.yaml"
    path.write_text("skips:\n" + "\n".join("  " + line for line in entry.splitlines()) + "\n")
    with pytest.raises(PolicyError, match=message):
        load_skips(path)


def test_synth_scan_addresses_get_their_resource_type_back() -> None:
    names = {"log-group-migrate": "aws_cloudwatch_log_group", "kms_policy_E61E893B": "aws_iam_policy_document"}
    assert typed_address("resource.log-group-migrate", names) == "aws_cloudwatch_log_group.log-group-migrate"
    assert typed_address("data.kms_policy_E61E893B", names) == "data.aws_iam_policy_document.kms_policy_E61E893B"
    assert typed_address("aws_s3_bucket.x", names) == "aws_s3_bucket.x"
