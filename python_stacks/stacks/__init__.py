"""The stacks of the platform and the CDKTF App that holds them; used by app.py, tools/synth.py and the tests.

One account-wide stack (``account``), and per workspace the data-protection stack (its KMS key, which outlives the
application) and the trading stack (the application), each a ``WorkspaceStack`` bound to its workspace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from python_stacks.config import StackConfig, load_config

if TYPE_CHECKING:
    from cdktf import App


def load_configs(workspaces: Iterable[str], env: Mapping[str, str] | None = None) -> list[StackConfig]:
    """Validate every workspace's configuration; cheap, so errors come before the bindings load."""
    return [load_config(workspace, env) for workspace in workspaces]


def build_app(configs: Iterable[StackConfig], outdir: Path | str = "cdktf.out") -> App:
    # Imported here: validating the configuration must not pay for loading cdktf and the bindings.
    from cdktf import App

    from python_stacks.stacks.account import AccountSettingsStack
    from python_stacks.stacks.data_protection import DataProtectionStack
    from python_stacks.stacks.trading import TradingStack

    configs = list(configs)
    app = App(outdir=str(outdir))
    account = AccountSettingsStack(app, configs[0]) if configs else None
    for config in configs:
        data_protection = DataProtectionStack(app, config)
        trading = TradingStack(app, config)
        # The trading stack reads the key of the data-protection stack and logs through the account's role. Declared
        # here, the order reaches cdktf's manifest: `cdktf deploy '*'` applies these first, `cdktf destroy` last.
        trading.add_dependency(data_protection)
        if account is not None:
            trading.add_dependency(account)
    return app
