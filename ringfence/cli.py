"""``ringfence``: the command line for traders and liquidity providers.

Run it from the repository root (it uses the project's compiled contracts through ``ape.project``)::

    ringfence markets
    ringfence quote  --long --size 1.5 --margin 400
    ringfence open   --long --size 1.5 --margin 400 --account alice
    ringfence status 0xVault
    ringfence add-margin 0xVault --amount 100
    ringfence remove-margin 0xVault --amount 50
    ringfence close 0xVault
    ringfence claim <vault>                    # what a liquidation credited to you
    ringfence lp deposit --amount 10000        # a request once the pool has shares
    ringfence lp redeem --amount 5000          # or --shares N, or --all: a request
    ringfence lp settle                        # after the next oracle round (anyone may, for anyone)
    ringfence lp show
    ringfence mock round --price 3100          # local chains: a round on a deployed mock feed

Every command takes ``--network`` (an Ape network choice, default ``ethereum:local``, or
``ethereum:local:http://127.0.0.1:8545`` for a node already running) and ``--account`` (an Ape
account alias or ``TEST::<n>``; on local networks and forks test account 0 by default). Markets
come from ``--deployments`` (default ``deployments/<ecosystem>-<network>.json``, written by
``ape run deploy``; ``--market <id>`` picks one when it holds several) or ``--pool 0x…``; commands
on a vault find its market from the vault. Amounts are human units: ``--size`` in the index asset
(``1.5`` ETH), ``--margin``/``--amount`` in settlement tokens (``400`` USDC), prices in settlement
tokens per index unit.

Checks come before transactions: a trade that the reference model (:mod:`ringfence.model`, the
exact mirror of the contracts), a balance, or a simulation of the transaction (``eth_call``) says
would fail sends nothing — no approval, no reverted transaction. Approvals are for the exact
amount. Any failure — a contract error, a model check, a bad argument, no node — is one line
``error: …`` on stderr and exit status 1 (2 for usage errors). ``--json`` prints a command's
result as JSON (integers raw, plus human strings).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from ringfence.abi import at
from ringfence.units import from_units, from_wad, to_units, to_wad

DEFAULT_NETWORK = "ethereum:local"

# Error arguments that are settlement-token amounts, and those that are WAD prices.
_AMOUNT_ARGS = {"margin", "minimum", "notional", "maximum", "openInterest", "cap", "available",
                "required", "free", "needed", "balance", "allowance", "assets", "max", "amount",
                "expected", "received"}
_PRICE_ARGS = {"priceWad", "acceptablePriceWad", "liquidationPriceWad"}
# Errors whose arguments are not the market's amounts (ratios): shown raw.
_RAW_ERRORS = {"ParameterOutOfBounds"}
# Errors whose amounts are pool shares (shown with the pool's decimals when known, else raw).
_SHARE_ERRORS = {"ERC4626ExceededMaxRedeem": {"shares", "max"}, "ERC4626ExceededMaxMint": {"shares", "max"}}
# Error arguments that are timestamps (shown as UTC times).
_TIME_ARGS = {"requestedAt", "priceUpdatedAt"}


class CliError(click.ClickException):
    """One line on stderr, exit status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


# ==================================================================================== formatting


def fmt_amount(amount: int, decimals: int, symbol: str = "") -> str:
    text = f"{from_units(amount, decimals):,.2f}"
    return f"{text} {symbol}".rstrip()


def fmt_price(price_wad: int) -> str:
    value = from_wad(price_wad)
    return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.8f}".rstrip("0")


def fmt_shares(shares: int, decimals: int) -> str:
    return f"{from_units(shares, decimals):,.4f}"


def fmt_time(timestamp: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_ratio(wad: int) -> str:
    percent = (from_wad(wad) * 100).quantize(Decimal("0.0001")).normalize()
    return f"{percent:f}%"


def human_error(error: Any, decimals: int | None = None, symbol: str = "",
                share_decimals: int | None = None) -> str:
    """The one-line message of a :class:`ringfence.errors.RingfenceError`, with amounts, prices,
    times (and shares, given the pool's ``share_decimals``) in human units when the market's
    ``decimals`` are known."""
    from eth_utils import is_address, to_checksum_address

    from ringfence.errors import MESSAGES, _fmt

    template = MESSAGES.get(error.name)
    share_args = _SHARE_ERRORS.get(error.name, set())
    if decimals is None or template is None or error.name in _RAW_ERRORS or \
            (share_args and share_decimals is None):
        return str(error.message)
    values = {}
    for key, value in error.inputs.items():
        if key in share_args and isinstance(value, int):
            values[key] = fmt_shares(value, share_decimals or 0)
        elif key in _TIME_ARGS and isinstance(value, int):
            values[key] = fmt_time(value)
        elif key in _AMOUNT_ARGS and isinstance(value, int):
            values[key] = fmt_amount(value, decimals, symbol)
        elif key in _PRICE_ARGS and isinstance(value, int):
            values[key] = fmt_price(value)
        elif isinstance(value, str) and is_address(value):
            values[key] = to_checksum_address(value)
        else:
            values[key] = _fmt(value)
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return str(error.message)


def model_error(exc: Exception) -> Any:
    """A :class:`ringfence.model.ModelError` as the RingfenceError the contract would raise."""
    from ringfence.errors import UnknownRevertError, error_class

    name = type(exc).__name__
    if name in ("EvmPanic", "ModelError"):
        return UnknownRevertError(message=f"the contract would revert ({exc})")

    def camel(key: str) -> str:
        head, *rest = key.split("_")
        return head + "".join(p.title() for p in rest)

    inputs = {camel(k): v for k, v in vars(exc).items()}
    return error_class(name)(inputs)


def redecode(error: Any) -> Any:
    """A better decoding of an error the SDK could not name: through a plain node provider, Anvil
    reports a custom error only as text (``custom error 0x<selector>: <args>``) in the provider
    error that caused it, which :func:`ringfence.errors.translate` does not read (yet)."""
    from ringfence.errors import UnknownRevertError, _anvil_rendering, project_decoder

    if not isinstance(error, UnknownRevertError):
        return error
    cause = error.__cause__ if error.__cause__ is not None else error
    base = getattr(cause, "base_err", None)
    data = _anvil_rendering(str(base)) if base is not None else None
    return project_decoder().decode(data) if data else error


def read(method: Any, *args: Any) -> Any:
    """A view call that may revert: named error, no call trace printed (``skip_trace``)."""
    from ape.exceptions import ContractLogicError

    from ringfence.errors import translate

    try:
        return method(*args, skip_trace=True)
    except ContractLogicError as exc:
        raise redecode(_with_cause(translate(exc), exc)) from exc


def simulate(method: Any, *args: Any, sender: Any, before_approval: bool = False) -> None:
    """Runs a transaction as an ``eth_call`` first, so that a revert costs nothing: local networks
    send without estimating gas (the reverted transaction would be mined). ``before_approval``:
    the token's allowance error is expected (the simulation runs before the exact approval, and
    the pool pulls tokens after all its checks), anything else is raised."""
    from ape.exceptions import ContractLogicError

    from ringfence.errors import translate

    try:
        method.call(*args, sender=sender, skip_trace=True)
    except ContractLogicError as exc:
        error = redecode(_with_cause(translate(exc), exc))
        if before_approval and ("Allowance" in error.name or "allowance" in str(error.message)):
            return
        raise error from exc


def read_price(market: Any) -> int:
    """The market's oracle price (WAD), or the oracle's named error."""
    from ape import project

    return int(read(at(project.ChainlinkOracle, market.oracle_address).price))


def vault_state(market: Any, vault: str) -> Any:
    """``Market.state`` after the checks that would make its views revert (closed position, no
    trustworthy price), so that those come out as named errors."""
    from ringfence.errors import error_class
    from ringfence.sdk import Position

    if market.position(vault).status != Position.OPEN:
        raise error_class("PositionNotOpen")({"vault": vault})
    read_price(market)
    return market.state(vault)


def _with_cause(error: Any, cause: BaseException) -> Any:
    error.__cause__ = cause
    return error


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _emit(as_json: bool, data: dict[str, Any], lines: list[tuple[str, str]]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    width = max((len(k) for k, _ in lines), default=0)
    for key, value in lines:
        click.echo(f"{key + ':':<{width + 1}} {value}")


# ==================================================================================== context


class Session:
    """What a command needs once connected: the provider, the account, the markets."""

    def __init__(self, provider: Any, opts: dict[str, Any]):
        self.provider = provider
        self.opts = opts
        self._account: Any = None

    @property
    def dev(self) -> bool:
        return bool(self.provider.network.is_dev)

    @property
    def account(self) -> Any:
        if self._account is None:
            self._account = resolve_account(self.opts.get("account"), self.dev)
        return self._account

    def address_of(self, value: str | None) -> str | None:
        if value is None:
            return None
        from eth_utils import is_address, to_checksum_address

        if not is_address(value):
            raise CliError(f"{value!r} is not an address")
        return to_checksum_address(value)

    # ---------------------------------------------------------------- markets
    def deployments(self) -> tuple[Path, dict[str, Any]]:
        from ringfence.deploy import DeployError, default_deployments_path, load_deployments

        path = self.opts.get("deployments") or default_deployments_path(self.provider)
        try:
            data = load_deployments(path)
        except DeployError as exc:
            raise CliError(str(exc)) from None
        if not data:
            raise CliError(f"no deployments file {path}: give --deployments <file> or --pool <address>")
        if data.get("chain_id") != self.provider.chain_id:
            raise CliError(f"{path} is for chain id {data.get('chain_id')}, this network has chain id "
                           f"{self.provider.chain_id}")
        return Path(path), data

    def markets(self) -> list[tuple[str, Any]]:
        """``(id, Market)`` of every market in scope (one with --pool or --market)."""
        pool = self.address_of(self.opts.get("pool"))
        if pool is not None:
            return [(pool, self.market_at(pool))]
        path, data = self.deployments()
        # A market without a pool is one whose deployment stopped before creating it.
        entries = {k: v for k, v in data.get("markets", {}).items() if v.get("pool")}
        wanted = self.opts.get("market")
        if wanted is not None:
            if wanted not in entries:
                raise CliError(f"no market {wanted!r} in {path} (markets: {', '.join(entries) or 'none'})")
            entries = {wanted: entries[wanted]}
        if not entries:
            raise CliError(f"{path} holds no markets")
        return [(market_id, self.market_at(entry["pool"])) for market_id, entry in entries.items()]

    def market(self) -> tuple[str, Any]:
        markets = self.markets()
        if len(markets) > 1:
            ids = ", ".join(m for m, _ in markets)
            raise CliError(f"several markets ({ids}): choose one with --market <id> or --pool <address>")
        return markets[0]

    def market_at(self, pool: str) -> Any:
        from ape import project

        from ringfence.sdk import Market

        if not self.provider.get_code(pool):
            hint = ""
            if self.provider.name == "test":
                hint = (" (the embedded chain lives only as long as one process: use a running "
                        "node, e.g. --network ethereum:local:http://127.0.0.1:8545)")
            raise CliError(f"no contract at pool {pool} on {self.provider.network.choice}{hint}")
        try:
            return Market(at(project.MarginPool, pool))
        except Exception as exc:  # noqa: BLE001 - a contract that is not a pool
            raise CliError(f"{pool} is not a Ringfence pool ({_first_line(str(exc))})") from None

    def vault_market(self, vault: str) -> tuple[str, Any]:
        from ape import project

        vault = self.address_of(vault) or ""
        if not self.provider.get_code(vault):
            raise CliError(f"no contract at vault {vault} on {self.provider.network.choice}")
        try:
            pool = str(at(project.PositionVault, vault).pool(skip_trace=True))
        except Exception:  # noqa: BLE001
            raise CliError(f"{vault} is not a Ringfence vault") from None
        return vault, self.market_at(pool)


def resolve_account(value: str | None, dev: bool) -> Any:
    """An Ape account: an alias, ``TEST::<n>``, or (local networks and forks) test account 0."""
    from ape import accounts

    if value is None:
        if not dev:
            raise CliError("--account <alias> is required on a live network")
        return accounts.test_accounts[0]
    if value.upper().startswith("TEST::"):
        index = value[6:]
        if not index.isdigit() or int(index) >= len(accounts.test_accounts):
            raise CliError(f"no test account {value}")
        return accounts.test_accounts[int(index)]
    if value in accounts.aliases:
        return accounts.load(value)
    raise CliError(f"no Ape account with alias {value!r} (see `ape accounts list`)")


def common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--network, --account, --deployments, --pool, --market, --json, -v on a command."""
    options = [
        click.option("--network", default=DEFAULT_NETWORK, show_default=True,
                     help="Ape network choice, e.g. ethereum:local:foundry, "
                          "ethereum:local:http://127.0.0.1:8545, ethereum:mainnet:node"),
        click.option("--account", default=None,
                     help="Ape account alias or TEST::<n> [default on local networks: TEST::0]"),
        click.option("--deployments", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Deployments file [default: deployments/<ecosystem>-<network>.json]"),
        click.option("--pool", default=None, help="A pool address (instead of the deployments file)"),
        click.option("--market", default=None, help="Market id in the deployments file"),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON"),
        click.option("-v", "--verbose", is_flag=True, help="Show Ape's log"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def connected(f: Callable[..., Any]) -> Callable[..., Any]:
    """Runs the command inside ``networks.parse_network_choice(--network)`` with a Session, turning
    every failure into one line on stderr and exit status 1."""

    @functools.wraps(f)
    def wrapper(**kwargs: Any) -> Any:
        opts = {k: kwargs.pop(k) for k in ("network", "account", "deployments", "pool", "market",
                                           "verbose")}
        as_json = kwargs.pop("as_json")
        _quiet(opts["verbose"])
        if not (Path("contracts") / "MarginPool.sol").exists():
            raise CliError("run ringfence from the Ringfence repository root "
                           "(it uses the project's compiled contracts)")
        try:
            from ape import networks
            from ape.exceptions import ApeException

            from ringfence.errors import RingfenceError
            from ringfence.model import ModelError

            try:
                context = networks.parse_network_choice(opts["network"])
            except ApeException as exc:
                raise CliError(f"unknown network {opts['network']!r} ({_first_line(str(exc))} "
                               f"see `ape networks list`)") from None
            try:
                provider = context.__enter__()
            except (ApeException, OSError) as exc:
                raise CliError(f"cannot connect to {opts['network']}: "
                               f"{_first_line(str(exc)) or type(exc).__name__}") from None
            try:
                check_chain_id(provider)
                return f(Session(provider, opts), as_json=as_json, **kwargs)
            finally:
                context.__exit__(None, None, None)
        except (click.ClickException, click.Abort, click.exceptions.Exit):
            raise
        except BrokenPipeError:  # the reader went away (`| head`)
            raise SystemExit(1) from None
        except RingfenceError as exc:
            raise CliError(str(redecode(exc).message)) from None
        except ModelError as exc:
            raise CliError(str(model_error(exc).message)) from None
        except ApeException as exc:
            raise CliError(_first_line(str(exc)) or type(exc).__name__) from None
        except (ValueError, OSError) as exc:
            raise CliError(_first_line(str(exc)) or type(exc).__name__) from None
        except Exception as exc:  # noqa: BLE001 - still one line; -v shows the traceback
            if opts["verbose"]:
                raise
            raise CliError(f"unexpected {type(exc).__name__}: {_first_line(str(exc))} "
                           f"(run with -v for the traceback)") from None

    return wrapper


def check_chain_id(provider: Any) -> None:
    from ringfence.deploy import DeployError, check_chain_id as check

    try:
        check(provider)
    except DeployError as exc:
        raise CliError(str(exc)) from None


def _quiet(verbose: bool) -> None:
    from ape.logging import logger

    logger.set_level("INFO" if verbose else "ERROR")


def _amount(text: str, decimals: int, what: str) -> int:
    try:
        value = to_units(text, decimals)
    except (ValueError, ArithmeticError):
        raise CliError(f"{what}: {text!r} is not an amount with at most {decimals} decimals") from None
    if value <= 0:
        raise CliError(f"{what} must be positive")
    return value


def _size(text: str) -> int:
    try:
        value = to_wad(text)
    except (ValueError, ArithmeticError):
        raise CliError(f"--size: {text!r} is not a number with at most 18 decimals") from None
    if value <= 0:
        raise CliError("--size must be positive")
    return value


def _price(text: str | None, what: str) -> int:
    if text is None:
        return 0
    try:
        value = to_wad(text)
    except (ValueError, ArithmeticError):
        raise CliError(f"{what}: {text!r} is not a price with at most 18 decimals") from None
    if value < 0:
        raise CliError(f"{what} must not be negative")
    return value


class MarketView:
    """A Market with its token's symbol and decimals, and contract errors in human units."""

    def __init__(self, market: Any):
        self.market = market
        self.decimals: int = market.decimals
        try:
            self.symbol = str(market.token().symbol())
        except Exception:  # noqa: BLE001
            self.symbol = ""

    def amount(self, value: int) -> str:
        return fmt_amount(value, self.decimals, self.symbol)

    @functools.cached_property
    def share_decimals(self) -> int:
        return int(self.market.pool.decimals())

    def shares(self, value: int) -> str:
        return fmt_shares(value, self.share_decimals)

    def message(self, error: Any) -> str:
        """A contract error's one line in this market's units."""
        return human_error(redecode(error), self.decimals, self.symbol, self.share_decimals)

    def guard(self) -> Any:
        """A context manager turning contract and model errors into human one-liners."""
        return _Guard(self)


class _Guard:
    def __init__(self, view: MarketView):
        self.view = view

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if exc is None:
            return False
        from ringfence.errors import RingfenceError
        from ringfence.model import ModelError

        if isinstance(exc, ModelError):
            exc = model_error(exc)
        if isinstance(exc, RingfenceError):
            raise CliError(self.view.message(exc)) from None
        return False


# ==================================================================================== commands


@click.group()
@click.version_option(package_name="ringfence")
def main() -> None:
    """Ringfence: isolated-margin trading. Run from the repository root."""


@main.command()
@common_options
@connected
def markets(session: Session, as_json: bool) -> None:
    """The markets: price, leverage, fees, liquidity, open interest."""
    from ringfence.errors import RingfenceError
    from ringfence.sdk import SECONDS_PER_YEAR

    rows = []
    for market_id, market in session.markets():
        view = MarketView(market)
        params = market.params()
        pool = market.pool
        try:
            price: int | None = read_price(market)
            price_text = fmt_price(price)
        except RingfenceError as exc:
            price, price_text = None, f"unavailable ({exc.message})"
        long_oi = int(pool.openInterest(True)[1])
        short_oi = int(pool.openInterest(False)[1])
        marked = _marked_assets(view)
        data = {
            "id": market_id, "pool": market.address, "asset": market.asset_address,
            "symbol": view.symbol, "decimals": view.decimals, "oracle": market.oracle_address,
            "price_wad": price, "params": dict(zip(params.__dataclass_fields__, params.as_tuple())),
            **marked, "free_liquidity": int(pool.freeLiquidity()),
            "reserved": int(pool.reserved()), "pending_deposits": int(pool.pendingDeposits()),
            "open_interest_long": long_oi, "open_interest_short": short_oi, "paused": bool(pool.paused()),
        }
        rows.append(data)
        if as_json:
            continue
        max_leverage = Decimal(10**18) / Decimal(params.initial_margin_wad)
        lines = [
            ("market", market_id), ("pool", market.address),
            ("token", f"{view.symbol} {market.asset_address}"), ("price", price_text),
            ("max leverage", f"{max_leverage:.2f}x (IM {fmt_ratio(params.initial_margin_wad)}, "
                             f"MM {fmt_ratio(params.maintenance_margin_wad)})"),
            ("fees", f"open {fmt_ratio(params.open_fee_wad)}, close {fmt_ratio(params.close_fee_wad)}, "
                     f"borrow {fmt_ratio(params.borrow_rate_wad * SECONDS_PER_YEAR)}/year"),
            ("min margin", view.amount(params.min_margin)),
            ("position", f"{view.amount(params.min_notional)} to {view.amount(params.max_position_notional)}"),
            ("LP assets", _assets_text(view, data)),
            ("open interest", f"long {view.amount(long_oi)}, short {view.amount(short_oi)}"),
            ("opening", "paused" if data["paused"] else "open"),
        ]
        _emit(False, data, lines)
        click.echo()
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))


def _side_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--long/--short", "is_long", required=True, default=None,
                        help="The side of the position")(f)


def _quote(session: Session, market: Any, view: MarketView, *, is_long: bool, size: int,
           margin: int, price_wad: int | None = None) -> dict[str, Any]:
    """The model's what-if of opening now (raises ModelError like the contract would revert)."""
    from ringfence import model

    params = model.MarketParams.from_struct(market.params(), asset_decimals=view.decimals)
    pool = market.pool
    price = read_price(market) if price_wad is None else price_wad
    opened = model.open_position(
        params, is_long=is_long, size=size, price_wad=price, margin=margin,
        fee_index_wad=int(pool.currentFeeIndex()),
        open_interest=int(pool.openInterest(is_long)[1]),
        free_liquidity=int(pool.freeLiquidity()),
    )
    notional = opened.entry_notional
    fees = opened.open_fee
    required = model.requirement_up(notional, params.initial_margin_wad) + fees
    return {
        "side": "long" if is_long else "short", "size_wad": size, "price_wad": price,
        "margin": margin, "notional": notional, "open_fee": fees,
        "margin_required": max(required, params.min_margin),
        "leverage": str((Decimal(notional) / Decimal(margin)).quantize(Decimal("0.01"))),
        "max_profit": opened.max_profit,
        "liquidation_price_wad": model.liquidation_price(
            is_long, size, price, margin, fees, params.scale, params.maintenance_margin_wad),
        "bankruptcy_price_wad": model.bankruptcy_price(is_long, size, price, margin, fees, params.scale),
    }


def _quote_lines(view: MarketView, q: dict[str, Any]) -> list[tuple[str, str]]:
    def price(value: int) -> str:
        return fmt_price(value) if value else "none"

    return [
        ("side", q["side"]), ("size", f"{from_wad(q['size_wad']).normalize():f}"),
        ("price", fmt_price(q["price_wad"])), ("notional", view.amount(q["notional"])),
        ("margin", view.amount(q["margin"])), ("leverage", f"{q['leverage']}x"),
        ("open fee", view.amount(q["open_fee"])),
        ("margin required", f"{view.amount(q['margin_required'])} (initial margin + open fee)"),
        ("max profit", view.amount(q["max_profit"])),
        ("liquidation price", price(q["liquidation_price_wad"])),
        ("bankruptcy price", price(q["bankruptcy_price_wad"])),
    ]


@main.command()
@_side_option
@click.option("--size", required=True, help="Position size in index units, e.g. 1.5")
@click.option("--margin", required=True, help="Margin in settlement tokens, e.g. 400")
@click.option("--price", default=None, help="What-if price instead of the oracle's")
@common_options
@connected
def quote(session: Session, as_json: bool, is_long: bool, size: str, margin: str,
          price: str | None) -> None:
    """What opening would give: liquidation and bankruptcy prices, open fee, margin required."""
    market_id, market = session.market()
    view = MarketView(market)
    with view.guard():
        q = _quote(session, market, view, is_long=is_long, size=_size(size),
                   margin=_amount(margin, view.decimals, "--margin"),
                   price_wad=_price(price, "--price") if price is not None else None)
    _emit(as_json, {"market": market_id, **q}, [("market", market_id), *_quote_lines(view, q)])


def _ensure_balance(view: MarketView, owner: Any, amount: int) -> None:
    balance = int(view.market.token().balanceOf(owner))
    if balance < amount:
        raise CliError(f"balance {view.amount(balance)} of {owner.address} is below {view.amount(amount)}")


def _approve_exact(view: MarketView, owner: Any, amount: int) -> None:
    from ringfence.errors import contract_errors

    token = view.market.token()
    if int(token.allowance(owner, view.market.address)) < amount:
        with contract_errors():
            token.approve(view.market.address, amount, sender=owner)


def _next_nonce(market: Any, owner: Any) -> int:
    from ringfence.sdk import Position

    for nonce in range(10_000):
        if market.position(market.vault_address(owner, nonce)).status != Position.OPEN:
            return nonce
    raise CliError("no free vault number below 10,000")


@main.command(name="open")
@_side_option
@click.option("--size", required=True, help="Position size in index units, e.g. 1.5")
@click.option("--margin", required=True, help="Margin in settlement tokens, e.g. 400")
@click.option("--nonce", type=click.IntRange(0, 2**96 - 1), default=None,
              help="Vault number [default: the first without an open position]")
@click.option("--acceptable-price", default=None,
              help="Slippage bound: a long fails above it, a short below it")
@click.option("--slippage", default=None, help="Slippage bound relative to the price now, e.g. 1%")
@common_options
@connected
def open_(session: Session, as_json: bool, is_long: bool, size: str, margin: str,
          nonce: int | None, acceptable_price: str | None, slippage: str | None) -> None:
    """Open a position in a new (or reused) vault."""
    market_id, market = session.market()
    view = MarketView(market)
    trader = session.account
    size_wad = _size(size)
    margin_units = _amount(margin, view.decimals, "--margin")
    with view.guard():
        q = _quote(session, market, view, is_long=is_long, size=size_wad, margin=margin_units)
        bound = _acceptable(q["price_wad"], is_long, acceptable_price, slippage)
        _ensure_balance(view, trader, margin_units)
        number = _next_nonce(market, trader) if nonce is None else nonce
        simulate(market.pool.openPosition, number, is_long, size_wad, margin_units, bound,
                 sender=trader, before_approval=True)
        _approve_exact(view, trader, margin_units)
        vault = market.open(trader, is_long=is_long, size=size_wad, margin=margin_units,
                            nonce=number, acceptable_price_wad=bound, approve=False)
        state = vault_state(market, vault)
    data = {"market": market_id, "vault": vault, "nonce": number, "owner": str(trader.address),
            **_state_data(state)}
    _emit(as_json, data, [("opened", vault), ("market", market_id), ("vault number", str(number)),
                          *_state_lines(view, state)])


def _acceptable(price_wad: int, is_long: bool, acceptable: str | None, slippage: str | None) -> int:
    if acceptable is not None and slippage is not None:
        raise CliError("give --acceptable-price or --slippage, not both")
    if acceptable is not None:
        return _price(acceptable, "--acceptable-price")
    if slippage is None:
        return 0
    from ringfence.deploy import DeployError, parse_ratio

    try:
        ratio = parse_ratio(slippage, "--slippage")
    except DeployError as exc:
        raise CliError(str(exc)) from None
    if not 0 <= ratio < 1:
        raise CliError("--slippage must be between 0% and 100%")
    factor = 1 + ratio if is_long else 1 - ratio
    bound = price_wad * factor
    # Round the bound against the trader: a long's maximum down, a short's minimum up.
    return int(bound) if is_long else -(-bound.numerator // bound.denominator)


def _state_data(state: Any) -> dict[str, Any]:
    return {
        "vault": state.address, "owner": state.owner, "side": "long" if state.is_long else "short",
        "size_wad": state.size, "entry_price_wad": state.entry_price_wad, "price_wad": state.price_wad,
        "margin": state.margin, "fees": state.fees, "pnl": state.pnl, "equity": state.equity,
        "notional": state.notional,
        "leverage": "inf" if state.equity <= 0 else str(state.leverage.quantize(Decimal("0.0001"))),
        "health_wad": state.health_wad,
        "liquidation_price_wad": state.liquidation_price_wad,
        "bankruptcy_price_wad": state.bankruptcy_price_wad, "liquidatable": state.liquidatable,
    }


def _state_lines(view: MarketView, state: Any) -> list[tuple[str, str]]:
    health = "inf" if state.health_wad >= 2**255 else f"{from_wad(state.health_wad):.3f}"
    leverage = "inf" if state.equity <= 0 else f"{state.leverage:.2f}x"
    return [
        ("owner", state.owner), ("side", "long" if state.is_long else "short"),
        ("size", f"{from_wad(state.size).normalize():f}"), ("entry price", fmt_price(state.entry_price_wad)),
        ("price", fmt_price(state.price_wad)), ("notional", view.amount(state.notional)),
        ("margin", view.amount(state.margin)), ("fees owed", view.amount(state.fees)),
        ("pnl", view.amount(state.pnl)), ("equity", view.amount(state.equity)),
        ("leverage", leverage), ("health", f"{health} (liquidatable below 1)"),
        ("liquidation price", fmt_price(state.liquidation_price_wad) if state.liquidation_price_wad else "none"),
        ("bankruptcy price", fmt_price(state.bankruptcy_price_wad) if state.bankruptcy_price_wad else "none"),
        ("liquidatable", "YES" if state.liquidatable else "no"),
    ]


@main.command()
@click.argument("vault")
@common_options
@connected
def status(session: Session, as_json: bool, vault: str) -> None:
    """A vault: margin, PnL, equity, leverage, health, liquidation and bankruptcy prices."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    with view.guard():
        state = vault_state(market, vault)
    _emit(as_json, {"pool": market.address, **_state_data(state)},
          [("vault", vault), ("pool", market.address), *_state_lines(view, state)])


def _require_open(view: MarketView, vault: str) -> None:
    from ringfence.errors import error_class
    from ringfence.sdk import Position

    if view.market.position(vault).status != Position.OPEN:
        raise error_class("PositionNotOpen")({"vault": vault})


@main.command(name="add-margin")
@click.argument("vault")
@click.option("--amount", required=True, help="Settlement tokens to add, e.g. 100")
@common_options
@connected
def add_margin(session: Session, as_json: bool, vault: str, amount: str) -> None:
    """Top up a vault's margin (anyone may top up any vault)."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    payer = session.account
    units = _amount(amount, view.decimals, "--amount")
    with view.guard():
        _require_open(view, vault)
        _ensure_balance(view, payer, units)
        simulate(market.pool.addMargin, vault, units, sender=payer, before_approval=True)
        _approve_exact(view, payer, units)
        market.add_margin(payer, vault, units, approve=False)
        state = vault_state(market, vault)
    _emit(as_json, {"added": units, **_state_data(state)},
          [("added", view.amount(units)), ("vault", vault), *_state_lines(view, state)])


@main.command(name="remove-margin")
@click.argument("vault")
@click.option("--amount", required=True, help="Settlement tokens to take out, e.g. 50")
@click.option("--to", "receiver", default=None, help="Receiver [default: the account]")
@common_options
@connected
def remove_margin(session: Session, as_json: bool, vault: str, amount: str,
                  receiver: str | None) -> None:
    """Take margin out of your vault (only while it keeps the initial margin)."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    owner = session.account
    units = _amount(amount, view.decimals, "--amount")
    to = session.address_of(receiver)
    with view.guard():
        simulate(market.pool.removeMargin, vault, units, to or owner.address, sender=owner)
        market.remove_margin(owner, vault, units, to)
        state = vault_state(market, vault)
    _emit(as_json, {"removed": units, **_state_data(state)},
          [("removed", view.amount(units)), ("vault", vault), *_state_lines(view, state)])


@main.command()
@click.argument("vault")
@click.option("--to", "receiver", default=None, help="Receiver of the payout [default: the account]")
@click.option("--acceptable-price", default=None,
              help="Slippage bound: a long fails below it, a short above it")
@common_options
@connected
def close(session: Session, as_json: bool, vault: str, receiver: str | None,
          acceptable_price: str | None) -> None:
    """Close your position: PnL and fees are settled, the rest is paid out."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    owner = session.account
    to = session.address_of(receiver)
    bound = _price(acceptable_price, "--acceptable-price")
    with view.guard():
        _require_open(view, vault)
        before = vault_state(market, vault)
        simulate(market.pool.closePosition, vault, to or owner.address, bound, sender=owner)
        payout = market.close(owner, vault, to, bound)
    data = {"vault": vault, "payout": payout, "price_wad": before.price_wad, "margin": before.margin,
            "receiver": str(to or owner.address)}
    _emit(as_json, data, [("closed", vault), ("price", fmt_price(before.price_wad)),
                          ("margin", view.amount(before.margin)), ("payout", view.amount(payout)),
                          ("to", data["receiver"])])


@main.command()
@click.argument("vault")
@click.option("--to", "receiver", default=None, help="Receiver [default: the account]")
@common_options
@connected
def claim(session: Session, as_json: bool, vault: str, receiver: str | None) -> None:
    """Withdraw what the liquidation of your vault credited to you."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    owner = session.account
    to = session.address_of(receiver)
    with view.guard():
        if market.claimable(vault) == 0:
            raise CliError(f"nothing to claim in vault {vault}")
        simulate(market.pool.claim, vault, to or owner.address, sender=owner)
        paid = market.claim(owner, vault, to)
    _emit(as_json, {"vault": vault, "claimed": paid, "receiver": str(to or owner.address)},
          [("vault", vault), ("claimed", view.amount(paid)), ("to", str(to or owner.address))])


@main.group()
def lp() -> None:
    """Liquidity providers: enter and leave a market's pool by requests settled after an oracle round."""


# LP entry and exit, once the pool has shares: a request now (assets or shares handed to the pool,
# a quote at today's marked share price), settled by anyone once the oracle has published a round
# after it, at the worse (for the LP) of the request's and the settlement's share price.


def _marked_assets(view: MarketView) -> dict[str, Any]:
    """The pool's realized liquidity and its marked assets (``None`` with the reason when the oracle
    refuses the price: ``totalAssets`` reads it)."""
    from ringfence.errors import RingfenceError

    pool = view.market.pool
    data: dict[str, Any] = {"liquidity": int(pool.liquidity()), "total_assets": None, "price_refused": None}
    try:
        data["total_assets"] = int(read(pool.totalAssets))
    except RingfenceError as exc:
        data["price_refused"] = view.message(exc)
    return data


def _assets_text(view: MarketView, data: dict[str, Any]) -> str:
    free = view.amount(data["free_liquidity"])
    if data["total_assets"] is None:
        return (f"{view.amount(data['liquidity'])} realized ({free} free); marked value unavailable: "
                f"the oracle refuses the price")
    return (f"{view.amount(data['total_assets'])} marked to the oracle price "
            f"({view.amount(data['liquidity'])} realized, {free} free)")


def _latest_round(view: MarketView) -> int | None:
    """The ``updatedAt`` of the oracle's latest accepted round (``None`` if it refuses the price)."""
    from ape import project

    from ringfence.errors import RingfenceError

    try:
        return int(read(at(project.ChainlinkOracle, view.market.oracle_address).latestPrice)[1])
    except RingfenceError:
        return None


def _round_wait(requested_at: int, round_at: int) -> str:
    return f"an oracle round after {fmt_time(requested_at)} (latest round at {fmt_time(round_at)})"


def _liquidity_wait(view: MarketView, free: int, needed: int) -> str:
    return f"free liquidity ({view.amount(free)} free, {view.amount(needed)} to pay)"


def _lp_state(view: MarketView, controller: str) -> dict[str, Any]:
    """What ``controller`` holds in the pool and has pending, and the pool's liquidity. Never reverts
    on a refused price (the marked figures are ``None`` then)."""
    pool = view.market.pool
    state: dict[str, Any] = {"lp": controller, **_marked_assets(view)}
    marked = state["total_assets"] is not None
    shares = int(pool.balanceOf(controller))
    free = int(pool.freeLiquidity())
    value = int(pool.convertToAssets(shares)) if marked else None
    state.update({
        "shares": shares, "value": value,
        # What a redemption of all the shares requested now would be quoted, within what the free
        # liquidity could pay now (the payment waits for the free liquidity otherwise).
        "redeemable": min(value, free) if value is not None else None,
        "free_liquidity": free, "reserved": int(pool.reserved()),
        "pending_deposits": int(pool.pendingDeposits()), "total_supply": int(pool.totalSupply()),
    })
    requests = view.market.lp_requests(controller)
    round_at = _latest_round(view) if (requests.deposit_assets or requests.redeem_shares) else None
    state["latest_round"] = round_at

    def waits(requested_at: int) -> str | None:
        if round_at is None:
            return "a price the oracle accepts"
        return _round_wait(requested_at, round_at) if round_at <= requested_at else None

    state["deposit_request"] = None
    if requests.deposit_assets:
        state["deposit_request"] = {
            "assets": requests.deposit_assets, "quote_shares": requests.deposit_quote_shares,
            "time": requests.deposit_time,
            "shares_now": int(pool.previewSettleDeposit(controller)) if marked else None,
            "waits_for": waits(requests.deposit_time),
        }
    state["redeem_request"] = None
    if requests.redeem_shares:
        assets_now = int(pool.previewSettleRedeem(controller)) if marked else None
        wait = waits(requests.redeem_time)
        if wait is None and assets_now is not None and assets_now > free:
            wait = _liquidity_wait(view, free, assets_now)
        state["redeem_request"] = {
            "shares": requests.redeem_shares, "quote_assets": requests.redeem_quote_assets,
            "time": requests.redeem_time, "assets_now": assets_now, "waits_for": wait,
        }
    return state


def _lp_lines(view: MarketView, s: dict[str, Any], requests: bool = True) -> list[tuple[str, str]]:
    unavailable = "unavailable (the oracle refuses the price)"
    worth = view.amount(s["value"]) if s["value"] is not None else unavailable
    redeemable = unavailable if s["redeemable"] is None else (
        f"{view.amount(s['redeemable'])} (your shares' worth, within the free liquidity; "
        f"by `lp redeem`, paid after the next oracle round)")
    lines = [("lp", s["lp"]), ("shares", f"{view.shares(s['shares'])}, worth {worth}"),
             ("redeemable", redeemable)]
    if requests:
        d, r = s["deposit_request"], s["redeem_request"]
        if d is None:
            lines.append(("deposit request", "none"))
        else:
            now = "" if d["shares_now"] is None else f" ({view.shares(d['shares_now'])} if settled now)"
            status = f"waits for {d['waits_for']}" if d["waits_for"] else "ready to settle (`lp settle`)"
            lines.append(("deposit request", f"{view.amount(d['assets'])} paid {fmt_time(d['time'])} for at most "
                                             f"{view.shares(d['quote_shares'])} shares{now}; {status}"))
        if r is None:
            lines.append(("redeem request", "none"))
        else:
            now = "" if r["assets_now"] is None else f" ({view.amount(r['assets_now'])} if settled now)"
            status = f"waits for {r['waits_for']}" if r["waits_for"] else "ready to settle (`lp settle`)"
            lines.append(("redeem request", f"{view.shares(r['shares'])} shares given {fmt_time(r['time'])} "
                                            f"for at most {view.amount(r['quote_assets'])}{now}; {status}"))
    lines.append(("pool assets", _assets_text(view, s)))
    if s["price_refused"]:
        lines.append(("price", f"refused: {s['price_refused']}"))
    if s["pending_deposits"]:
        lines.append(("pending deposits", f"{view.amount(s['pending_deposits'])} (not the LPs' until settled)"))
    return lines


def _pending_error(view: MarketView, controller: str, kind: str, requested_at: int, what: str) -> CliError:
    return CliError(f"a {kind} of {what} for {controller} requested {fmt_time(requested_at)} is pending "
                    f"(one at a time, not cancellable): settle it first (`ringfence lp settle`)")


@lp.command()
@click.option("--controller", default=None, help="The LP [default: the account]")
@common_options
@connected
def show(session: Session, as_json: bool, controller: str | None) -> None:
    """An LP's shares and their marked value, pending requests, and the pool's liquidity."""
    market_id, market = session.market()
    view = MarketView(market)
    who = session.address_of(controller) or str(session.account.address)
    with view.guard():
        state = _lp_state(view, who)
    _emit(as_json, {"market": market_id, **state}, [("market", market_id), *_lp_lines(view, state)])


@lp.command()
@click.option("--amount", required=True, help="Settlement tokens to deposit, e.g. 10000")
@common_options
@connected
def deposit(session: Session, as_json: bool, amount: str) -> None:
    """Deposit settlement tokens: immediate into a pool without shares, else a request for shares
    minted after the next oracle round (`lp settle`, or a keeper)."""
    market_id, market = session.market()
    view = MarketView(market)
    provider = session.account
    units = _amount(amount, view.decimals, "--amount")
    with view.guard():
        _ensure_balance(view, provider, units)
        if int(market.pool.maxDeposit(provider.address)) > 0:  # the pool's first shares
            simulate(market.pool.deposit, units, provider.address, sender=provider, before_approval=True)
            _approve_exact(view, provider, units)
            shares = market.deposit(provider, units, approve=False)
            state = _lp_state(view, str(provider.address))
            _emit(as_json, {"market": market_id, "deposited": units, "minted": shares, **state},
                  [("market", market_id), ("deposited", f"{view.amount(units)} (the pool's first deposit: "
                                                        f"immediate)"),
                   ("minted", f"{view.shares(shares)} shares"), *_lp_lines(view, state)])
            return
        pending = market.lp_requests(provider.address)
        if pending.deposit_assets:
            raise _pending_error(view, str(provider.address), "deposit", pending.deposit_time,
                                 view.amount(pending.deposit_assets))
        simulate(market.pool.requestDeposit, units, provider.address, sender=provider, before_approval=True)
        _approve_exact(view, provider, units)
        quote = market.request_deposit(provider, units, approve=False)
        state = _lp_state(view, str(provider.address))
    settles = "after the next oracle round, by a keeper or `ringfence lp settle`"
    _emit(as_json, {"market": market_id, "requested_deposit": units, "quote_shares": quote,
                    "settles": settles, **state},
          [("market", market_id), ("deposit requested", f"{view.amount(units)} paid"),
           ("shares at most", f"{view.shares(quote)} (fewer if the share price is higher at settlement)"),
           ("settles", settles), *_lp_lines(view, state, requests=False)])


def _redeem(session: Session, as_json: bool, shares_text: str | None, amount: str | None,
            everything: bool) -> None:
    market_id, market = session.market()
    view = MarketView(market)
    provider = session.account
    who = str(provider.address)
    if sum(x is not None and x is not False for x in (shares_text, amount, everything)) != 1:
        raise CliError("give one of --shares, --amount or --all")
    with view.guard():
        pool = market.pool
        held = int(pool.balanceOf(who))
        if everything:
            shares = held
        elif shares_text is not None:
            shares = _amount(shares_text, view.share_decimals, "--shares")
        else:
            units = _amount(amount or "", view.decimals, "--amount")
            shares = int(read(pool.previewWithdraw, units))  # shares worth `units`, rounded up
        if shares == 0:
            raise CliError(f"{who} holds no shares of this pool")
        if shares > held:
            worth = "" if amount is None else f"{view.amount(units)} is worth {view.shares(shares)} shares: "
            raise CliError(f"{worth}{who} holds {view.shares(held)} shares, fewer than {view.shares(shares)}")
        pending = market.lp_requests(who)
        if pending.redeem_shares:
            raise _pending_error(view, who, "redemption", pending.redeem_time,
                                 f"{view.shares(pending.redeem_shares)} shares")
        simulate(pool.requestRedeem, shares, who, who, sender=provider)
        quote = market.request_redeem(provider, shares)
        state = _lp_state(view, who)
    settles = (f"after the next oracle round, by a keeper or `ringfence lp settle`, from the free liquidity "
               f"({view.amount(state['free_liquidity'])} now)")
    _emit(as_json, {"market": market_id, "requested_redeem": shares, "quote_assets": quote,
                    "settles": settles, **state},
          [("market", market_id), ("redemption requested", f"{view.shares(shares)} shares handed to the pool"),
           ("assets at most", f"{view.amount(quote)} (less if the share price is lower at settlement)"),
           ("settles", settles), *_lp_lines(view, state, requests=False)])


@lp.command()
@click.option("--shares", "shares_text", default=None, help="Pool shares to redeem, e.g. 1000.5")
@click.option("--amount", default=None,
              help="Settlement tokens' worth of shares to redeem (rounded up to whole share units), e.g. 5000")
@click.option("--all", "everything", is_flag=True, help="Redeem all your shares")
@common_options
@connected
def redeem(session: Session, as_json: bool, shares_text: str | None, amount: str | None,
           everything: bool) -> None:
    """Request a redemption: the shares go to the pool now, the assets come after the next oracle
    round (`lp settle`, or a keeper), paid from the free liquidity."""
    _redeem(session, as_json, shares_text, amount, everything)


@lp.command(hidden=True)
@click.option("--amount", default=None, help="Settlement tokens' worth of shares to redeem")
@click.option("--all", "everything", is_flag=True, help="Redeem all your shares")
@common_options
@connected
def withdraw(session: Session, as_json: bool, amount: str | None, everything: bool) -> None:
    """Alias of `lp redeem --amount/--all` (a request, no longer immediate)."""
    _redeem(session, as_json, None, amount, everything)


def _why_not(view: MarketView, error: Any) -> str:
    """Why a settlement cannot go through now: what it waits for, or the contract's message."""
    error = redecode(error)
    if error.name == "RequestNotReady":
        return "waits for " + _round_wait(int(error.inputs["requestedAt"]), int(error.inputs["priceUpdatedAt"]))
    if error.name == "InsufficientLiquidity":
        return "waits for " + _liquidity_wait(view, int(error.inputs["free"]), int(error.inputs["needed"]))
    return "cannot settle: " + view.message(error)


@lp.command()
@click.option("--controller", default=None, help="Whose requests to settle [default: the account]")
@common_options
@connected
def settle(session: Session, as_json: bool, controller: str | None) -> None:
    """Settle an LP's pending deposit and redemption requests (anyone may, once the oracle has
    published a round after them)."""
    from ringfence.errors import RingfenceError

    market_id, market = session.market()
    view = MarketView(market)
    caller = session.account
    who = session.address_of(controller) or str(caller.address)
    pool = market.pool
    with view.guard():
        pending = market.lp_requests(who)
    kinds = [k for k, n in (("deposit", pending.deposit_assets), ("redemption", pending.redeem_shares)) if n]
    if not kinds:
        raise CliError(f"{who} has no pending deposit or redemption request")
    settled: dict[str, int] = {}
    waiting: dict[str, str] = {}
    for kind in kinds:
        method = pool.settleDeposit if kind == "deposit" else pool.settleRedeem
        try:
            simulate(method, who, sender=caller)
            settled[kind] = (market.settle_deposit if kind == "deposit" else market.settle_redeem)(caller, who)
        except RingfenceError as exc:
            waiting[kind] = _why_not(view, exc)
    if not settled:
        reasons = set(waiting.values())
        if len(reasons) == 1:
            verb = reasons.pop()
            if len(kinds) == 2:  # "waits for" -> "wait for", "cannot settle" unchanged
                verb = verb.replace("waits for", "wait for", 1)
            subject = " and ".join(kinds) + (" requests" if len(kinds) == 2 else " request")
            raise CliError(f"the {subject} of {who} {verb}")
        raise CliError("; ".join(f"the {k} request of {who} {w}" for k, w in waiting.items()))
    # A transaction went through: from here on, nothing is reported as an error.
    state = _lp_state(view, who)
    lines = [("market", market_id), ("controller", who)]
    if "deposit" in settled:
        lines.append(("deposit settled", f"{view.amount(pending.deposit_assets)} for "
                                         f"{view.shares(settled['deposit'])} shares (quoted at most "
                                         f"{view.shares(pending.deposit_quote_shares)})"))
    if "redemption" in settled:
        lines.append(("redemption settled", f"{view.shares(pending.redeem_shares)} shares for "
                                            f"{view.amount(settled['redemption'])} paid to {who} (quoted at most "
                                            f"{view.amount(pending.redeem_quote_assets)})"))
    for kind, why in waiting.items():
        lines.append((kind, why))
    data = {"market": market_id, "controller": who,
            "settled_deposit_shares": settled.get("deposit"), "settled_redeem_assets": settled.get("redemption"),
            "waiting": waiting, **state}
    _emit(as_json, data, [*lines, *_lp_lines(view, state)[1:]])


# ==================================================================================== mocks


@main.group()
def mock() -> None:
    """Test doubles of a local deployment (a markets file's deploy-mock): local chains and forks only."""


def _mock(session: Session, kind: str, address: str) -> str:
    """The deployments file's key of mock ``address`` (``token:…``, ``feed:…``), or a one-line refusal."""
    if not session.dev:
        raise CliError("mock commands run on local chains and forks only")
    path, data = session.deployments()
    for key, entry in data.get("mocks", {}).items():
        if key.startswith(f"{kind}:") and str(entry.get("address", "")).lower() == address.lower():
            return key
    raise CliError(f"the {kind} {address} is not a mock deployed by {path}")


@mock.command(name="round")
@click.option("--price", default=None, help="The new answer, e.g. 3100 [default: the same answer again]")
@common_options
@connected
def mock_round(session: Session, as_json: bool, price: str | None) -> None:
    """Publish a new round on the market's mock price feed, dated after the chain's head (what LP
    requests wait for; it also refreshes a stale price)."""
    import time

    from ape import project

    market_id, market = session.market()
    view = MarketView(market)
    feed_address = str(at(project.ChainlinkOracle, market.oracle_address).feed())
    _mock(session, "feed", feed_address)
    feed = at(project.MockAggregator, feed_address)
    decimals = int(feed.decimals())
    answer = int(feed.latestAnswer()) if price is None else _amount(price, decimals, "--price")
    head = int(session.provider.get_block("latest").timestamp)
    try:  # a round in a later second than every request already mined
        session.provider.make_request("evm_setNextBlockTimestamp", [max(head + 1, int(time.time()))])
    except Exception:  # noqa: BLE001 - a node without it dates the block itself
        pass
    with view.guard():
        from ringfence.errors import contract_errors

        with contract_errors():
            receipt = feed.setAnswer(answer, sender=session.account)
    updated_at = int(session.provider.get_block(receipt.block_number).timestamp)
    data = {"market": market_id, "feed": feed_address, "answer": answer, "updated_at": updated_at}
    _emit(as_json, data, [("market", market_id), ("feed", feed_address),
                          ("answer", f"{from_units(answer, decimals).normalize():f}"),
                          ("round at", fmt_time(updated_at))])


@mock.command(name="mint")
@click.option("--amount", required=True, help="Settlement tokens to mint, e.g. 10000")
@click.option("--to", "receiver", default=None, help="Receiver [default: the account]")
@common_options
@connected
def mock_mint(session: Session, as_json: bool, amount: str, receiver: str | None) -> None:
    """Mint the market's mock settlement token."""
    from ape import project

    market_id, market = session.market()
    view = MarketView(market)
    _mock(session, "token", market.asset_address)
    units = _amount(amount, view.decimals, "--amount")
    to = session.address_of(receiver) or str(session.account.address)
    with view.guard():
        from ringfence.errors import contract_errors

        with contract_errors():
            at(project.MockERC20, market.asset_address).mint(to, units, sender=session.account)
        balance = int(market.token().balanceOf(to))
    _emit(as_json, {"market": market_id, "minted": units, "to": to, "balance": balance},
          [("market", market_id), ("minted", view.amount(units)), ("to", to), ("balance", view.amount(balance))])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
