"""``ringfence``: the command line for traders and liquidity providers.

It runs from any directory: the contract types come from the checkout's build when the package sits
in a checkout, else from the package's bundled copy (:mod:`ringfence.chain.contracts`)::

    ringfence markets
    ringfence quote  --long --size 1.5 --margin 500
    ringfence open   --long --size 1.5 --margin 500 --account trader
    ringfence status <vault>
    ringfence add-margin <vault> --amount 100
    ringfence remove-margin <vault> --amount 50
    ringfence close <vault>
    ringfence guard set <vault> --trigger 1.3 --target 1.6 --max-per-top-up 100 --budget 300   # top-ups
    ringfence guard reserve open --market ETH-USD --vault <vault>   # then reserve deposit <id> 500, set --reserve <id>
    ringfence claim <vault>                    # what a liquidation credited to you
    ringfence positions                        # every vault of the account, open and closed
    ringfence status <vault> --watch           # re-printed until Ctrl-C
    ringfence lp deposit --amount 10000        # a request once the pool has shares
    ringfence lp redeem --amount 5000          # or --shares N, or --all: a request
    ringfence lp settle                        # after the next oracle round (anyone may, for anyone)
    ringfence lp show
    ringfence fund show                        # the market's insurance fund (fund deposit: pay into it)
    ringfence admin pause                      # guardian/owner; admin set-params: through the owner delay
    ringfence devnet                           # a local chain that stays up, markets deployed
    ringfence dev round --price 3100           # local chains: a round on a deployed mock feed
    ringfence dev mint --amount 1000           # ... the mock token; dev time 1h; dev pause / unpause

Every command takes ``--network`` (an Ape network choice, default ``ethereum:local``, or
``ethereum:local:http://127.0.0.1:8545`` for a node already running, e.g. the devnet) and
``--account`` (an Ape account alias or ``TEST::<n>``, on local networks and forks also a role name of
the devnet's accounts, :data:`ringfence.cli.app.DEV_ROLES`; there test account 0 by default). Markets
come from ``--deployments`` (default ``deployments/<ecosystem>-<network>.json``, written by
``ape run deploy``; ``--market <id>`` picks one when it holds several) or ``--pool 0x…``; commands
on a vault find its market from the vault (and refuse a ``--market``/``--pool`` that is not the
vault's). Amounts are human units: ``--size`` in the index asset (``1.5`` ETH),
``--margin``/``--amount`` in settlement tokens (``400`` USDC), prices in settlement tokens per index
unit, ``--slippage`` in percent (``0.5`` is 0.5 %, the default bound of ``open`` and ``close``).
Amounts shown are rounded down when held or received, up when owed or required.

Checks come before transactions: a trade that the reference model (:mod:`ringfence.model`, the
exact mirror of the contracts), a balance, or a simulation of the transaction (``eth_call``) says
would fail sends nothing — no approval, no reverted transaction. Approvals are for the exact
amount. Any failure — a contract error, a model check, a bad argument, no node — is one line
``error: …`` on stderr and exit status 1 (2 for usage errors). Once a transaction is mined the
command reports it (exit status 0); a read after it that fails is one ``warning: …`` line.
``--json`` prints a command's result as JSON (integers raw, plus human strings), and an error as
one JSON object (``error``, ``message``). Sending commands list their mined transactions (hash,
block, gas used) in their output, and report each step on stderr with ``--progress`` (the default
when stderr is a terminal).
"""

from __future__ import annotations

# Each command module registers its commands on ``main`` when imported.
from ringfence.cli import admin, dev, devnet, fund, guard, lp, markets, positions, trade  # noqa: F401
from ringfence.cli.app import Session, main
from ringfence.cli.errors import CliError, human_error, redecode
from ringfence.cli.formatting import fmt_amount, fmt_price, fmt_ratio, fmt_shares, fmt_time
from ringfence.cli.view import MarketView

__all__ = [
    "CliError",
    "MarketView",
    "Session",
    "fmt_amount",
    "fmt_price",
    "fmt_ratio",
    "fmt_shares",
    "fmt_time",
    "human_error",
    "main",
    "redecode",
]
