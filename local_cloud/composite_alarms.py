"""CloudWatch composite alarms for moto, which lacks the one request handler they need.

moto 5.2.5 answers ``PutCompositeAlarm`` with HTTP 500 (``NotImplementedError: The put_composite_alarm action has
not been implemented``), so ``aws_cloudwatch_composite_alarm`` cannot be created and the provider retries until it
gives up. Everything else is there: the CloudWatch backend stores a composite alarm as an alarm with a rule
(``put_metric_alarm(rule=...)``), ``DescribeAlarms`` lists it under ``CompositeAlarms``, ``DeleteAlarms`` and the
tagging calls work on it. This adds the missing handler on top of that backend; it is a fix, applied whether or not
the emulator's extensions are on. tests/unit/test_composite_alarms_fix.py proves the gap and the fix; drop this when
moto implements the action.
"""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult, EmptyResult

# A composite alarm watches no metric. moto's put_metric_alarm stores these as given, None included, although its
# annotations ask for values.
_NO_METRIC: dict[str, Any] = {
    "namespace": None,
    "metric_name": None,
    "metric_data_queries": None,
    "comparison_operator": None,
    "evaluation_periods": None,
    "datapoints_to_alarm": None,
    "period": None,
    "threshold": None,
    "statistic": None,
    "extended_statistic": None,
    "unit": None,
    "treat_missing_data": None,
    "evaluate_low_sample_count_percentile": None,
    "threshold_metric_id": None,
}


def put_composite_alarm(self: CloudWatchResponse) -> ActionResult:
    """``PutCompositeAlarm``: the alarm's rule, description, actions and tags; no metric, so no metric fields."""
    self.cloudwatch_backend.put_metric_alarm(
        name=self._get_param("AlarmName"),
        **_NO_METRIC,
        description=self._get_param("AlarmDescription"),
        dimensions=[],
        alarm_actions=self._get_param("AlarmActions", []),
        ok_actions=self._get_param("OKActions", []),
        insufficient_data_actions=self._get_param("InsufficientDataActions", []),
        actions_enabled=self._get_bool_param("ActionsEnabled"),
        rule=self._get_param("AlarmRule"),
        tags=self._get_param("Tags", []),
    )
    return EmptyResult()


def apply() -> None:
    CloudWatchResponse.put_composite_alarm = put_composite_alarm  # type: ignore[attr-defined]
