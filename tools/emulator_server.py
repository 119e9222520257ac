"""moto's server with the adaptations this project needs, applied in the test tooling, never in the stack.

moto 5.2.5 cannot restore a DB cluster from a snapshot when RDS manages the master password: ``DBCluster.get_cfg``
pops ``_master_user_password``, which such a cluster never sets (KeyError; the provider then retries for two
hours). prod's destroy-and-recreate restores exactly such a cluster, so the emulator gets a tolerant ``get_cfg``.
tests/unit/test_emulator_patch.py proves the upstream bug and the fix; drop this when moto fixes it.

Usage: ``python -m tools.emulator_server [moto_server arguments]`` (tools/emulator.py starts it).
"""

from __future__ import annotations

import sys
from typing import Any

from moto.rds import models as rds_models

from local_cloud import composite_alarms

_get_cfg = rds_models.DBCluster.get_cfg


def _tolerant_get_cfg(self: Any) -> dict[str, Any]:
    if "_master_user_password" not in self.__dict__:
        # A managed-password cluster has no password of its own; the restored copy manages one again.
        self.__dict__["_master_user_password"] = None
    return _get_cfg(self)


def apply_patches() -> None:
    rds_models.DBCluster.get_cfg = _tolerant_get_cfg  # type: ignore[method-assign]
    # moto has no PutCompositeAlarm handler; the stack's "trading degraded" page is a composite alarm.
    composite_alarms.apply()


def main(argv: list[str]) -> int:
    apply_patches()
    from moto.server import main as moto_main

    moto_main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
