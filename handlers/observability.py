"""The structured JSON logger shared by every entry point.

Service name and level come from ``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_LOG_LEVEL``. There is no
Tracer: it needs aws-xray-sdk (plus wrapt), which is not in the Lambda runtime and would add size and cold-start
import time for subsegments this small API does not need; Lambda's active tracing still records each
invocation without it.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger()
