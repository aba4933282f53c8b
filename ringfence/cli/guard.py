"""``ringfence guard``: a vault owner's margin top-up policy at the factory's MarginGuard
(``docs/guard.md``): ``guard show`` (the policy, the price at which it acts, what a top-up would
add now), ``guard set`` (checked by the reference model before it is sent; a wallet policy approves
the guard for exactly its budget, a reserve policy approves nothing and is checked against its
reserve) and ``guard cancel``; and the owner's reserves, ``guard reserve open|deposit|withdraw|
earmark|show``, each transaction simulated first. The guard is the deployments file's
``MarginGuard``, or ``--guard``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ringfence import model
from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.arguments import parse_amount
from ringfence.cli.errors import CliError, first_line, redecode
from ringfence.cli.formatting import emit, fmt_health, fmt_price, fmt_time
from ringfence.cli.view import MarketView, after_sent, ensure_balance, warn
from ringfence.deploy.markets_file import parse_duration
from ringfence.errors import RingfenceError, error_class
from ringfence.guard import Guard, GuardPolicy, ReserveState, erc20
from ringfence.portfolio import LOOKBACK, find_vaults
from ringfence.progress import approve_when_short
from ringfence.units import parse_number

__all__ = ["cancel", "find_guard", "guard", "reserve", "set_policy", "show", "top_up_price_report"]

WAD = 10**18
MAX_UINT96 = 2**96 - 1
GUARD_OPTION = click.option("--guard", "guard_address", default=None,
                            help="The MarginGuard [default: the deployments file's]")


@main.group()
def guard() -> None:
    """A vault's margin top-up policy: keepers add margin from your wallet or a reserve when its
    health falls below your trigger, up to your caps (docs/guard.md)."""


def _guard(session: Session, address: str | None) -> Guard:
    """The guard at ``--guard``, else the deployments file's ``MarginGuard``, or a one-line refusal."""
    if address is None:
        path, data = session.deployments()
        address = data.get("contracts", {}).get("MarginGuard", {}).get("address")
        if not address:
            raise CliError(f"{path} records no MarginGuard: redeploy with `ape run deploy` (it adds the "
                           f"guard) or give --guard <address>")
    address = session.address_of(address) or ""
    if not session.provider.get_code(address):
        raise CliError(f"no contract at the guard address {address} on {session.provider.network.choice}")
    return Guard.at(address)


def find_guard(session: Session, address: str | None) -> Guard | None:
    """The guard of ``--guard`` (checked), else the deployments file's if it records one, else
    ``None``: for commands that show a policy when there is one and work without a guard."""
    if address is not None:
        return _guard(session, address)
    try:
        return _guard(session, None)
    except CliError:
        return None


def _vault_and_guard(session: Session, vault: str, guard_address: str | None) -> tuple[str, MarketView, Guard]:
    """What every guard command starts from: the vault (checksummed), its market's view, the guard."""
    vault, market = session.vault_market(vault)
    return vault, MarketView(market), _guard(session, guard_address)


def _health(text: str, what: str) -> int:
    """A health ratio (``1.3``) as WAD, exactly, or a one-line refusal."""
    try:
        value = parse_number(text, what)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    wad = value * WAD
    if wad.denominator != 1 or wad <= 0:
        raise CliError(f"{what} {text} is not a positive health with at most 18 decimals")
    return int(wad)


def _policy_data(policy: GuardPolicy) -> dict[str, Any]:
    return {"exists": policy.exists, "trigger_health_wad": policy.trigger_health_wad,
            "target_health_wad": policy.target_health_wad, "expiry": policy.expiry, "fee": policy.fee,
            "max_per_top_up": policy.max_per_top_up, "budget": policy.budget, "reserve_id": policy.reserve_id}


def _policy_lines(view: MarketView, policy: GuardPolicy) -> list[tuple[str, str]]:
    if not policy.exists:
        return [("policy", "none")]
    source = f"reserve {policy.reserve_id}" if policy.reserve_id else "the owner's wallet"
    return [
        ("trigger", f"health below {fmt_health(policy.trigger_health_wad)}"),
        ("target", f"health {fmt_health(policy.target_health_wad)}"),
        ("max per top-up", view.amount(policy.max_per_top_up)),
        ("budget left", f"{view.amount(policy.budget)} (margin and fees)"),
        ("fee", f"{view.amount(policy.fee)} per top-up, to the keeper"),
        ("expires", fmt_time(policy.expiry) if policy.expiry else "never"),
        ("source", source),
    ]


def _top_up_price_text(is_long: bool, price: int, trigger: int) -> str:
    """``model.top_up_price`` as a line: a long is topped up below it, a short above it."""
    if (is_long and price >= model.MAX_UINT256) or (not is_long and price == 0):
        return f"any price (health is below {fmt_health(trigger)} at every price)"
    if price == 0:
        return f"none (health stays at or above {fmt_health(trigger)} at every price)"
    side = "below" if is_long else "above"
    return f"{fmt_price(price)} (a keeper may top up {side} it: health below {fmt_health(trigger)})"


def top_up_price_report(view: MarketView, vault: str,
                        policy: GuardPolicy) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The price at which ``policy`` lets a keeper top ``vault`` up (:func:`ringfence.model.top_up_price`
    of the position with the fees it owes now and the market's MM), next to its liquidation price (the
    same figure at trigger 1). Nothing when the policy is not set or the position is not open."""
    market = view.market
    position = market.position(vault)
    if not policy.exists or not position.is_open:
        return {}, []
    fees = int(market.vault(vault).feesOwed())
    snap = market.snapshot()
    scale, mm = snap.price_scale, snap.params.maintenance_margin_wad
    price = model.top_up_price(position, fees, scale, mm, policy.trigger_health_wad)
    liquidation = model.position_liquidation_price(position, fees, scale, mm)
    data = {"top_up_price_wad": price, "liquidation_price_wad": liquidation}
    return data, [("top-up price", _top_up_price_text(position.is_long, price, policy.trigger_health_wad)),
                  ("liquidation price", fmt_price(liquidation) if liquidation else "none")]


def _now_lines(view: MarketView, g: Guard, vault: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """What a top-up would do now: the guard's own quote, or why none is due."""
    try:
        amount, fee, health = g.quote(vault)
    except RingfenceError as exc:
        return {"top_up_now": None, "top_up_refused": view.message(exc)}, [("top-up now", view.message(exc))]
    return ({"top_up_now": {"amount": amount, "fee": fee, "health_wad": health}},
            [("top-up now", f"{view.amount(amount)} (+ fee {view.amount(fee)}) at health {fmt_health(health)}")])


@guard.command()
@click.argument("vault")
@GUARD_OPTION
@common_options
@connected
def show(session: Session, as_json: bool, vault: str, guard_address: str | None) -> None:
    """The vault owner's policy, the price at which it lets a keeper top up (next to the liquidation
    price), and what a top-up would add now."""
    vault, view, g = _vault_and_guard(session, vault, guard_address)
    with view.guard():
        owner = str(view.market.position(vault).owner)
        policy = g.policy(owner, vault)
        prices, price_lines = top_up_price_report(view, vault, policy)
        now, now_lines = _now_lines(view, g, vault) if policy.exists else ({}, [])
    data = {"vault": vault, "owner": owner, "guard": g.address, **_policy_data(policy), **prices, **now}
    emit(as_json, data, [("vault", vault), ("owner", owner), ("guard", g.address),
                         *_policy_lines(view, policy), *price_lines, *now_lines])


@guard.command(name="set")
@click.argument("vault")
@click.option("--trigger", required=True, help="Top up while health is below this, e.g. 1.3")
@click.option("--target", required=True, help="Health a top-up brings the vault to (above --trigger), e.g. 1.6")
@click.option("--max-per-top-up", required=True, help="Most margin one top-up adds, in settlement tokens")
@click.option("--budget", required=True, help="Most all top-ups may spend, margin and fees, in settlement tokens")
@click.option("--fee", default="0", show_default=True, help="Paid to the keeper per top-up (at most a tenth of --max-per-top-up)")
@click.option("--expires", default=None, help="The policy stops acting after this long, e.g. 30d [default: never]")
@click.option("--reserve", "reserve_id", type=click.IntRange(min=1), default=None,
              help="Pay from this reserve of yours [default: your wallet]")
@GUARD_OPTION
@common_options
@connected
def set_policy(session: Session, as_json: bool, vault: str, trigger: str, target: str, max_per_top_up: str,
               budget: str, fee: str, expires: str | None, reserve_id: int | None, guard_address: str | None) -> None:
    """Set (or replace) your top-up policy for a vault. From your wallet, the guard is approved for
    exactly the budget."""
    vault, view, g = _vault_and_guard(session, vault, guard_address)
    owner = session.account
    try:
        lifetime = parse_duration(expires, "--expires") if expires is not None else 0
    except ValueError as exc:
        raise CliError(str(exc)) from None
    from ape import chain

    now = int(chain.pending_timestamp)
    try:
        policy = GuardPolicy(
            trigger_health_wad=_health(trigger, "--trigger"), target_health_wad=_health(target, "--target"),
            expiry=now + lifetime if lifetime else 0,
            fee=parse_amount(fee, view.decimals, "--fee", zero=True),
            max_per_top_up=parse_amount(max_per_top_up, view.decimals, "--max-per-top-up"),
            budget=parse_amount(budget, view.decimals, "--budget"), reserve_id=reserve_id or 0)
    except (TypeError, ValueError) as exc:  # a value too large for its field
        raise CliError(str(exc)) from None
    with view.guard():
        position_owner = str(view.market.position(vault).owner)
        if position_owner != str(owner.address):
            raise CliError(f"{owner.address} does not own vault {vault} (owner {position_owner}): a policy "
                           f"acts only for the vault's owner")
        policy.check(now)
        if policy.reserve_id:
            _check_policy_reserve(view, g, policy, vault)
        else:
            approve_when_short(erc20(str(view.market.token().address)), owner, g.address, policy.budget,
                               asset=view.symbol)
        g.set_policy(owner, vault, policy)
    stored = after_sent(view, "the policy", lambda: g.policy(str(owner.address), vault)) or policy
    emit(as_json, {"vault": vault, "owner": str(owner.address), "guard": g.address, **_policy_data(stored)},
         [("policy set", vault), ("guard", g.address), *_policy_lines(view, stored)])


def _check_policy_reserve(view: MarketView, g: Guard, policy: GuardPolicy, vault: str) -> None:
    """Refuses, before the policy is sent, a reserve its top-ups could never spend (the errors a top-up
    would revert with): not the vault owner's, of another token than the pool's, not earmarked to the
    vault. A reserve holding less than the budget is one warning line: top-ups stop when it runs out."""
    rid = policy.reserve_id
    state = _reserve_state(g, rid)
    owner = str(view.market.position(vault).owner)
    if state.owner.lower() != owner.lower():
        raise error_class("NotReserveOwner")({"reserveId": rid, "caller": owner})
    asset = str(view.market.asset_address)
    if state.token.lower() != asset.lower():
        raise error_class("ReserveTokenMismatch")({"reserveId": rid, "token": state.token, "asset": asset})
    if not g.is_earmarked(rid, vault):
        raise CliError(f"reserve {rid} is not earmarked to {vault}: run `ringfence guard reserve earmark "
                       f"{rid} {vault}` first", "ReserveNotEarmarked")
    if state.balance < policy.budget:
        warn(f"reserve {rid} holds {view.amount(state.balance)}, less than the budget "
             f"{view.amount(policy.budget)}: top-ups stop when it runs out (`ringfence guard reserve "
             f"deposit {rid} <amount>`)")


@guard.command()
@click.argument("vault")
@GUARD_OPTION
@common_options
@connected
def cancel(session: Session, as_json: bool, vault: str, guard_address: str | None) -> None:
    """Cancel your top-up policy for a vault (the guard's allowance stays: revoke it in your wallet)."""
    vault, view, g = _vault_and_guard(session, vault, guard_address)
    owner = session.account
    with view.guard():
        if not g.policy(str(owner.address), vault).exists:
            raise CliError(f"{owner.address} has no policy for vault {vault}")
        g.cancel_policy(owner, vault)
    emit(as_json, {"vault": vault, "owner": str(owner.address), "cancelled": True},
         [("policy cancelled", vault), ("owner", str(owner.address))])


# ==================================================================================== reserves


class _ReserveToken:
    """A reserve's token as :class:`MarketView` reads a market: its decimals and the ERC-20 (a reserve
    has no pool shares)."""

    def __init__(self, address: str):
        self.asset_address = address
        self._token = erc20(address)
        try:
            self.decimals = int(self._token.decimals())
        except Exception as exc:  # noqa: BLE001 - not an ERC-20 with decimals()
            raise CliError(f"the reserve's token {address} has no decimals(): {first_line(str(exc))}") from None

    def token(self) -> Any:
        return self._token

    def share_decimals(self) -> int:
        return 0


def _reserve_state(g: Guard, reserve_id: int) -> ReserveState:
    """The reserve, or the guard's UnknownReserve."""
    state = g.reserve(reserve_id)
    if int(state.owner, 16) == 0:
        raise error_class("UnknownReserve")({"reserveId": reserve_id})
    return state


def _reserve(session: Session, guard_address: str | None, reserve_id: int) -> tuple[Guard, ReserveState, MarketView]:
    """What every command on an existing reserve starts from: the guard, the reserve, its token's view."""
    g = _guard(session, guard_address)
    state = _reserve_state(g, reserve_id)
    return g, state, MarketView(_ReserveToken(state.token))


def _vaults(session: Session, vaults: Sequence[str]) -> list[str]:
    """Vault addresses, checksummed, each once, in the order given."""
    return list(dict.fromkeys(session.address_of(v) or "" for v in vaults))


def _reserve_lines(view: MarketView, reserve_id: int, state: ReserveState) -> list[tuple[str, str]]:
    return [("reserve", str(reserve_id)), ("owner", state.owner),
            ("token", f"{view.symbol} {state.token}".strip()), ("balance", view.amount(state.balance))]


def _reserve_data(g: Guard, reserve_id: int, state: ReserveState) -> dict[str, Any]:
    return {"reserve_id": reserve_id, "guard": g.address, "owner": state.owner, "token": state.token,
            "balance": state.balance}


def _simulate(g: Guard, function: str, *args: Any, sender: Any, before_approval: bool = False) -> None:
    """The guard's transaction as an ``eth_call`` first: a refusal costs nothing. ``before_approval``:
    the token's allowance error is expected (the exact approval comes after the simulation)."""
    try:
        g.check(function, *args, sender=sender)
    except RingfenceError as exc:
        error = redecode(exc)
        if before_approval and ("Allowance" in error.name or "allowance" in str(error.message)):
            return
        raise error from exc


def _after(view: MarketView, g: Guard, reserve_id: int) -> ReserveState | None:
    return after_sent(view, f"reserve {reserve_id}", lambda: g.reserve(reserve_id))


@guard.group()
def reserve() -> None:
    """Your reserves at the guard: tokens set aside for top-ups, earmarked to named vaults of yours
    (a policy pays from one with `guard set --reserve <id>`; only you deposit and withdraw)."""


@reserve.command(name="open")
@click.option("--vault", "vaults", multiple=True, help="A vault to earmark the reserve to (repeatable)")
@GUARD_OPTION
@common_options
@connected
def open_reserve(session: Session, as_json: bool, vaults: tuple[str, ...], guard_address: str | None) -> None:
    """Open a reserve in the market's settlement token (--market or --pool), earmarked to --vault;
    prints its id."""
    market_id, market = session.market()
    view = MarketView(market)
    g = _guard(session, guard_address)
    owner = session.account
    earmarked = _vaults(session, vaults)
    token = str(market.asset_address)
    with view.guard():
        _simulate(g, "openReserve", token, earmarked, sender=owner)
        reserve_id = g.open_reserve(owner, token, earmarked)
    data = {"reserve_id": reserve_id, "guard": g.address, "market": market_id, "owner": str(owner.address),
            "token": token, "balance": 0, "earmarked": earmarked}
    emit(as_json, data, [("reserve opened", str(reserve_id)), ("market", market_id), ("owner", str(owner.address)),
                         ("token", f"{view.symbol} {token}".strip()), ("guard", g.address),
                         *(("earmarked", v) for v in earmarked or ["no vault yet"]),
                         ("next", f"ringfence guard reserve deposit {reserve_id} <amount>")])


@reserve.command(name="deposit")
@click.argument("reserve_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("amount")
@GUARD_OPTION
@common_options
@connected
def deposit_reserve(session: Session, as_json: bool, reserve_id: int, amount: str, guard_address: str | None) -> None:
    """Deposit AMOUNT settlement tokens into your reserve ID (the guard approved for exactly AMOUNT
    when its allowance is short)."""
    g, state, view = _reserve(session, guard_address, reserve_id)
    owner = session.account
    units = parse_amount(amount, view.decimals, "AMOUNT")
    with view.guard():
        if state.balance + units > MAX_UINT96:
            raise error_class("AmountTooLarge")({"amount": state.balance + units})
        ensure_balance(view, owner, units)
        _simulate(g, "depositReserve", reserve_id, units, sender=owner, before_approval=True)
        g.deposit_reserve(owner, reserve_id, units)
    after = _after(view, g, reserve_id) or state
    emit(as_json, {**_reserve_data(g, reserve_id, after), "deposited": units},
         [("deposited", view.amount(units)), *_reserve_lines(view, reserve_id, after)])


@reserve.command(name="withdraw")
@click.argument("reserve_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("amount")
@click.option("--to", "receiver", default=None, help="Receiver [default: the account]")
@GUARD_OPTION
@common_options
@connected
def withdraw_reserve(session: Session, as_json: bool, reserve_id: int, amount: str, receiver: str | None,
                     guard_address: str | None) -> None:
    """Withdraw AMOUNT settlement tokens from your reserve ID (at any time; policies paying from it stop
    when it runs short)."""
    g, state, view = _reserve(session, guard_address, reserve_id)
    owner = session.account
    units = parse_amount(amount, view.decimals, "AMOUNT")
    to = session.address_of(receiver) or str(owner.address)
    with view.guard():
        _simulate(g, "withdrawReserve", reserve_id, units, to, sender=owner)
        g.withdraw_reserve(owner, reserve_id, units, to)
    after = _after(view, g, reserve_id) or state
    emit(as_json, {**_reserve_data(g, reserve_id, after), "withdrawn": units, "receiver": to},
         [("withdrawn", view.amount(units)), ("to", to), *_reserve_lines(view, reserve_id, after)])


@reserve.command(name="earmark")
@click.argument("reserve_id", metavar="ID", type=click.IntRange(min=1))
@click.argument("vaults", metavar="VAULT...", nargs=-1, required=True)
@click.option("--remove", is_flag=True, help="Take the vaults off the reserve instead")
@GUARD_OPTION
@common_options
@connected
def earmark(session: Session, as_json: bool, reserve_id: int, vaults: tuple[str, ...], remove: bool,
            guard_address: str | None) -> None:
    """Earmark your reserve ID to VAULT... (or with --remove, no longer): top-ups pay from it only for
    earmarked vaults of yours."""
    g, _, view = _reserve(session, guard_address, reserve_id)
    owner = session.account
    listed = _vaults(session, vaults)
    with view.guard():
        _simulate(g, "earmark", reserve_id, listed, not remove, sender=owner)
        g.earmark(owner, reserve_id, listed, not remove)
    key = "no longer earmarked" if remove else "earmarked"
    emit(as_json, {"reserve_id": reserve_id, "guard": g.address, "earmarked": not remove, "vaults": listed},
         [("reserve", str(reserve_id)), *((key, v) for v in listed)])


def _earmark_events(g: Guard, reserve_id: int) -> list[str]:
    """The vaults the reserve's ``ReserveEarmarked`` events of the last
    :data:`~ringfence.portfolio.LOOKBACK` blocks name (none if the node will not search its logs)."""
    from ape import chain

    try:
        head = chain.blocks.height
        logs = g.contract.ReserveEarmarked.range(max(0, head - LOOKBACK), head + 1,
                                                 search_topics={"reserveId": reserve_id})
        return [str(log.vault) for log in logs]
    except Exception:  # noqa: BLE001 - a node without log search: the owner's vaults still count
        return []


def _earmarked(session: Session, g: Guard, reserve_id: int, state: ReserveState) -> list[str]:
    """The vaults earmarked to the reserve now: those its events name (:func:`_earmark_events`) and
    the owner's vaults in the markets in scope of the reserve's token, each confirmed by
    ``isEarmarked``."""
    candidates = dict.fromkeys(_earmark_events(g, reserve_id))
    try:
        markets = session.markets()
    except CliError:  # no deployments file: the events alone
        markets = []
    for _, market in markets:
        if str(market.asset_address).lower() == state.token.lower():
            for vault in find_vaults(market, state.owner):
                candidates.setdefault(vault, None)
    return [v for v in candidates if g.is_earmarked(reserve_id, v)]


@reserve.command(name="show")
@click.argument("reserve_id", metavar="ID", type=click.IntRange(min=1))
@GUARD_OPTION
@common_options
@connected
def show_reserve(session: Session, as_json: bool, reserve_id: int, guard_address: str | None) -> None:
    """Reserve ID: its owner, token and balance, and the vaults earmarked to it (each with whether the
    owner's policy for it pays from this reserve)."""
    g, state, view = _reserve(session, guard_address, reserve_id)
    vaults = _earmarked(session, g, reserve_id, state)
    funds = {v: g.policy(state.owner, v).reserve_id == reserve_id for v in vaults}
    data = {**_reserve_data(g, reserve_id, state), "earmarked": vaults,
            "policies_paying_from_it": [v for v in vaults if funds[v]]}
    lines = [*_reserve_lines(view, reserve_id, state), ("guard", g.address)]
    lines += [("earmarked", f"{v} ({'its policy pays from it' if funds[v] else 'no policy of the owner pays from it'})")
              for v in vaults] or [("earmarked", "no vault found")]
    emit(as_json, data, lines)
