"""local_cloud/composite_alarms.py: stock moto cannot create a composite alarm, the fix can, the way the AWS
provider reads it back (DescribeAlarms by type and name, tags) and deletes it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.cloudwatch.responses import CloudWatchResponse

from local_cloud.composite_alarms import put_composite_alarm
from tests.support.moto import fresh_aws

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts-dev"


@pytest.fixture()
def cloudwatch() -> Iterator[tuple[Any, str]]:
    # Unique names: an outer mock_aws may keep moto's state for the whole session.
    member = f"alarm-member-{uuid.uuid4().hex[:8]}"
    with fresh_aws():
        client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        client.put_metric_alarm(
            AlarmName=member,
            Namespace="AWS/ApiGateway",
            MetricName="5XXError",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=5,
            Threshold=0.05,
            ComparisonOperator="GreaterThanThreshold",
        )
        yield client, member


def _put(client: Any, name: str, member: str) -> None:
    client.put_composite_alarm(
        AlarmName=name,
        AlarmRule=f'ALARM("{member}")',
        AlarmDescription="PAGE: degraded. First check: the member in ALARM.",
        ActionsEnabled=True,
        AlarmActions=[TOPIC],
        OKActions=[TOPIC],
        Tags=[{"Key": "Name", "Value": name}],
    )


def test_stock_moto_has_no_put_composite_alarm(cloudwatch: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(CloudWatchResponse, "put_composite_alarm", raising=False)
    client, member = cloudwatch
    with pytest.raises(Exception, match="put_composite_alarm"):
        _put(client, "alarm-degraded-stock", member)


def test_the_fix_creates_reads_and_deletes_a_composite_alarm(
    cloudwatch: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CloudWatchResponse, "put_composite_alarm", put_composite_alarm, raising=False)
    client, member = cloudwatch
    name = f"alarm-degraded-{uuid.uuid4().hex[:8]}"
    _put(client, name, member)
    found = client.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])
    (alarm,) = found["CompositeAlarms"]
    assert found["MetricAlarms"] == []
    assert alarm["AlarmRule"] == f'ALARM("{member}")'
    assert alarm["AlarmDescription"] == "PAGE: degraded. First check: the member in ALARM."
    assert alarm["ActionsEnabled"] is True
    assert alarm["AlarmActions"] == [TOPIC] and alarm["OKActions"] == [TOPIC]
    assert client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"] == [{"Key": "Name", "Value": name}]
    # An update (PutCompositeAlarm again) replaces the rule in place.
    client.put_composite_alarm(AlarmName=name, AlarmRule=f'OK("{member}")')
    assert client.describe_alarms(AlarmNames=[name])["CompositeAlarms"][0]["AlarmRule"] == f'OK("{member}")'
    client.delete_alarms(AlarmNames=[name])
    assert client.describe_alarms(AlarmNames=[name])["CompositeAlarms"] == []
