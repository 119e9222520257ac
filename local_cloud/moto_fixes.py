"""Fixes for moto gaps and bugs the stack runs into, applied whether or not the extensions are on.

moto 5.2.5 cannot restore a DB cluster from a snapshot when RDS manages the master password: ``DBCluster.get_cfg``
pops ``_master_user_password``, which such a cluster never sets (KeyError; the provider then retries for two
hours). prod's destroy-and-recreate restores exactly such a cluster, so the emulator gets a tolerant ``get_cfg``.
tests/unit/test_moto_fixes.py proves the upstream bug and the fix; drop this when moto fixes it.
moto also has no ``PutCompositeAlarm`` handler (``composite_alarms``; the stack's paging alarm is a composite) and drops
a function's ``LoggingConfig`` (``lambda_logging_config``; every plan would otherwise update the functions).
"""

from __future__ import annotations

from typing import Any

from moto.rds import models as rds_models

from local_cloud import composite_alarms, lambda_logging_config

_get_cfg = rds_models.DBCluster.get_cfg


def _tolerant_get_cfg(self: Any) -> dict[str, Any]:
    if "_master_user_password" not in self.__dict__:
        # A managed-password cluster has no password of its own; the restored copy manages one again.
        self.__dict__["_master_user_password"] = None
    return _get_cfg(self)


def apply() -> None:
    rds_models.DBCluster.get_cfg = _tolerant_get_cfg  # type: ignore[method-assign]
    composite_alarms.apply()
    lambda_logging_config.apply()
