"""A hypothesis state machine that drives the protocol on a local chain and checks the invariants
after every step. Actors: traders with several vaults each, an LP, a keeper, an oracle moving in small
steps, jumps and crashes, time passing, a guardian pausing, an owner changing parameters."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ringfence import model
from ringfence.errors import RingfenceError
from ringfence.fuzz.env import FEED_DECIMALS, USDC, FuzzEnv
from ringfence.fuzz.invariants import (
    Ghost,
    MarketRow,
    Snapshot,
    VaultRow,
    check_conservation,
    check_isolation,
    check_liveness,
    check_losses,
    check_safety,
    check_solvency,
    check_sums,
)

WAD = 10**18
# Errors an action may meet in normal life; anything else fails the run.
EXPECTED = {
    "LeverageTooHigh", "PositionAlreadyOpen", "MarketPaused", "InsufficientLiquidity",
    "OpenInterestCapExceeded", "PositionTooLarge", "NotionalBelowMinimum", "MarginBelowMinimum",
    "InsufficientMargin", "PositionNotOpen", "ERC4626ExceededMaxWithdraw", "NothingToClaim",
    "ZeroAmount", "PausedUnchanged",
}


class Stats:
    """Counts across a whole run (all examples)."""

    steps = 0
    actions: dict[str, int] = {}
    errors: dict[str, int] = {}

    @classmethod
    def count(cls, action: str, error: str | None = None) -> None:
        cls.steps += 1
        cls.actions[action] = cls.actions.get(action, 0) + 1
        if error:
            cls.errors[error] = cls.errors.get(error, 0) + 1


def build_machine(env: FuzzEnv, chain: Any, project: Any, check_every: int = 1) -> type:
    """A RuleBasedStateMachine class bound to a deployed environment. Each example starts from a chain
    snapshot and restores it at teardown."""
    reader = env.owner.deploy(project.BalanceReader)
    lens = env.protocol.lens
    liquidator = env.protocol.liquidator
    scales = [int(m.pool.priceScale()) for m in env.markets]

    class ProtocolMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot_id = chain.snapshot()
            self.touched: set[str] = set()
            self.vaults: dict[str, tuple[int, Any]] = {}  # vault -> (market, owner)
            self.answers = [int(f.latestAnswer()) for f in env.feeds]
            self.ghost = Ghost(minted=env.minted)
            balances = self._balances(env.holders())
            for t in env.traders:
                self.ghost.start_balance[str(t.address)] = balances[str(t.address)]
            self.last_rows: dict[str, VaultRow] = {}
            self.step = 0

        def teardown(self) -> None:
            chain.restore(self.snapshot_id)

        # ------------------------------------------------------------ helpers
        def _balances(self, holders: list[str]) -> dict[str, int]:
            values = reader.balancesOf(env.token, holders) if holders else []
            return dict(zip(holders, (int(v) for v in values)))

        def _try(self, action: str, fn: Any) -> str | None:
            try:
                fn()
            except RingfenceError as exc:
                if exc.name not in EXPECTED:
                    raise
                Stats.count(action, exc.name)
                return exc.name
            Stats.count(action)
            return None

        def _open_vaults(self, market: int | None = None) -> list[str]:
            rows = self.last_rows
            return [v for v, (m, _) in self.vaults.items()
                    if (market is None or m == market) and (v not in rows or rows[v].status == 1)]

        def _refresh_feeds(self) -> None:
            for feed, answer in zip(env.feeds, self.answers):
                feed.setAnswer(answer, sender=env.owner)

        # ------------------------------------------------------------ traders
        @rule(trader=st.integers(0, 3), market=st.integers(0, 1), nonce=st.integers(0, 2),
              is_long=st.booleans(), size_centi=st.integers(1, 2_000), lev_tenths=st.integers(10, 120))
        def open(self, trader: int, market: int, nonce: int, is_long: bool, size_centi: int,
                 lev_tenths: int) -> None:
            who = env.traders[trader]
            m = env.markets[market]
            size = size_centi * WAD // 100
            price = self.answers[market] * 10 ** (18 - FEED_DECIMALS)
            notional = model.notional_up(size, price, scales[market])
            margin = notional * 10 // lev_tenths + model.requirement_up(notional, WAD // 1000) + 1
            vault = m.vault_address(who, nonce)
            self.touched |= {vault}
            if self._try("open", lambda: m.open(who, is_long=is_long, size=size, margin=margin,
                                                 nonce=nonce, approve=False)) is None:
                self.vaults[vault] = (market, who)
                key = str(who.address)
                self.ghost.paid_in[key] = self.ghost.paid_in.get(key, 0) + margin

        @precondition(lambda self: self.vaults)
        @rule(data=st.data(), payer=st.integers(0, 3), amount=st.integers(1, 2_000))
        def add_margin(self, data: Any, payer: int, amount: int) -> None:
            vault = data.draw(st.sampled_from(sorted(self.vaults)))
            market, _ = self.vaults[vault]
            who = env.traders[payer]
            self.touched |= {vault}
            if self._try("add_margin", lambda: env.markets[market].add_margin(
                    who, vault, amount * USDC, approve=False)) is None:
                key = str(who.address)
                self.ghost.paid_in[key] = self.ghost.paid_in.get(key, 0) + amount * USDC

        @precondition(lambda self: self.vaults)
        @rule(data=st.data(), amount=st.integers(1, 1_000), stranger=st.integers(0, 3))
        def remove_margin(self, data: Any, amount: int, stranger: int) -> None:
            vault = data.draw(st.sampled_from(sorted(self.vaults)))
            market, owner = self.vaults[vault]
            self.touched |= {vault}
            other = env.traders[stranger]
            if other.address != owner.address and vault in self._open_vaults():
                # 5. Safety: nobody but the owner moves margin out.
                try:
                    env.markets[market].remove_margin(other, vault, amount * USDC)
                except RingfenceError as exc:
                    assert exc.name == "NotVaultOwner", exc
                else:
                    raise AssertionError("a stranger removed margin")
            self._try("remove_margin", lambda: env.markets[market].remove_margin(owner, vault, amount * USDC))

        @precondition(lambda self: self.vaults)
        @rule(data=st.data())
        def close(self, data: Any) -> None:
            vault = data.draw(st.sampled_from(sorted(self.vaults)))
            market, owner = self.vaults[vault]
            self.touched |= {vault}
            self._try("close", lambda: env.markets[market].close(owner, vault))

        @rule(trader=st.integers(0, 3), market=st.integers(0, 1))
        def claim(self, trader: int, market: int) -> None:
            self._try("claim", lambda: env.markets[market].claim(env.traders[trader]))

        @precondition(lambda self: self.vaults)
        @rule(data=st.data(), amount=st.integers(1, 500), to_pool=st.booleans())
        def donate(self, data: Any, amount: int, to_pool: bool) -> None:
            donor = env.traders[0]
            key = str(donor.address)
            if to_pool:
                market = data.draw(st.integers(0, 1))
                env.token.transfer(env.markets[market].pool, amount, sender=donor)
                self.ghost.pool_donations[market] += amount
            else:
                vault = data.draw(st.sampled_from(sorted(self.vaults)))
                env.token.transfer(vault, amount, sender=donor)
                self.ghost.vault_donations[vault] = self.ghost.vault_donations.get(vault, 0) + amount
                self.touched |= {vault}
            self.ghost.paid_in[key] = self.ghost.paid_in.get(key, 0) + amount
            Stats.count("donate")

        @precondition(lambda self: any(self.ghost.vault_donations.values()))
        @rule(data=st.data())
        def recover_donation(self, data: Any) -> None:
            vault = data.draw(st.sampled_from(sorted(v for v, a in self.ghost.vault_donations.items() if a)))
            market, owner = self.vaults[vault]
            self.touched |= {vault}
            env.markets[market].pool.recoverDonation(vault, env.token, owner, sender=owner)
            amount = self.ghost.vault_donations.pop(vault)
            key = str(owner.address)
            self.ghost.paid_in[key] = self.ghost.paid_in.get(key, 0) - amount
            Stats.count("recover_donation")

        # ------------------------------------------------------------ keepers
        @precondition(lambda self: self.vaults)
        @rule(data=st.data())
        def liquidate_one(self, data: Any) -> None:
            vault = data.draw(st.sampled_from(sorted(self.vaults)))
            row = self.last_rows.get(vault)
            self.touched |= {vault}
            try:
                env.protocol.liquidate(env.keeper, vault)
                Stats.count("liquidate")
            except RingfenceError as exc:
                assert exc.name in {"HealthyPosition", "PositionNotOpen"}, exc
                assert row is None or not (row.status == 1 and row.liquidatable), \
                    f"liquidatable {vault} could not be liquidated: {exc}"
                Stats.count("liquidate", exc.name)

        @rule(market=st.integers(0, 1))
        def liquidate_all(self, market: int) -> None:
            vaults = self._open_vaults(market)
            self.touched |= set(vaults)
            if vaults:
                env.protocol.liquidate_batch(env.keeper, [(env.markets[market].address, vaults)])
            Stats.count("liquidate_batch")

        # ------------------------------------------------------------ LPs
        @rule(market=st.integers(0, 1), amount=st.integers(1, 100_000), deposit=st.booleans())
        def lp(self, market: int, amount: int, deposit: bool) -> None:
            m = env.markets[market]
            if deposit:
                self._try("lp_deposit", lambda: m.deposit(env.lp, amount * USDC, approve=False))
            else:
                self._try("lp_withdraw", lambda: m.withdraw(env.lp, amount * USDC))

        # ------------------------------------------------------------ the world
        @rule(market=st.integers(0, 1), bp=st.integers(-300, 300))
        def price_step(self, market: int, bp: int) -> None:
            self._move(market, bp)

        @rule(market=st.integers(0, 1), bp=st.sampled_from([-3500, -2000, -1000, 1000, 2000, 3500]))
        def price_jump(self, market: int, bp: int) -> None:
            self._move(market, bp)

        def _move(self, market: int, bp: int) -> None:
            self.answers[market] = max(10**FEED_DECIMALS, self.answers[market] * (10_000 + bp) // 10_000)
            env.feeds[market].setAnswer(self.answers[market], sender=env.owner)
            Stats.count("price")

        @rule(seconds=st.integers(1, 3_000))
        def time_passes(self, seconds: int) -> None:
            chain.mine(timestamp=chain.blocks.head.timestamp + seconds)
            self._refresh_feeds()
            Stats.count("time")

        @rule(market=st.integers(0, 1), paused=st.booleans())
        def guardian_pause(self, market: int, paused: bool) -> None:

            def act() -> None:
                from ringfence.errors import contract_errors

                with contract_errors():
                    env.protocol.factory.setPaused(env.markets[market].pool, paused, sender=env.guardian)

            self._try("pause", act)

        @rule(market=st.integers(0, 1), mm_bp=st.integers(300, 600), fee_bp=st.integers(0, 30))
        def set_params(self, market: int, mm_bp: int, fee_bp: int) -> None:
            m = env.markets[market]
            params = m.params().with_(maintenance_margin_wad=mm_bp * WAD // 10_000,
                                      liquidation_target_wad=max(mm_bp + 100, 750) * WAD // 10_000,
                                      keeper_bonus_wad=min(100, mm_bp // 3) * WAD // 10_000,
                                      liquidation_penalty_wad=min(100, mm_bp // 3) * WAD // 10_000,
                                      close_fee_wad=fee_bp * WAD // 10_000)
            self.touched |= set(self._open_vaults(market))  # parameters move every vault's health
            if params != m.params():
                env.protocol.factory.setParams(m.pool, params.as_tuple(), sender=env.owner)
            Stats.count("set_params")

        # ------------------------------------------------------------ invariants
        def read(self) -> Snapshot:
            rows: dict[str, VaultRow] = {}
            addresses = sorted(self.vaults)
            balances = self._balances(env.holders() + addresses)
            markets = []
            for i, m in enumerate(env.markets):
                mine = [v for v in addresses if self.vaults[v][0] == i]
                for view in (lens.vaults(m.pool, mine) if mine else []):
                    v = str(view.vault)
                    rows[v] = VaultRow(
                        vault=v, market=i, status=int(view.status), is_long=bool(view.isLong),
                        size=int(view.size),
                        entry_notional=model.notional_up(int(view.size), int(view.entryPriceWad), scales[i]),
                        margin=int(view.margin), max_profit=int(view.maxProfit),
                        balance=balances[v], liquidatable=bool(view.liquidatable),
                    )
                pool = m.pool
                markets.append(MarketRow(
                    balance=balances[m.address], total_assets=int(pool.totalAssets()),
                    total_claimable=int(pool.totalClaimable()), reserved=int(pool.reserved()),
                    open_interest=(tuple(pool.openInterest(True)), tuple(pool.openInterest(False))),
                    max_withdraw_lp=int(pool.maxWithdraw(env.lp)), free_liquidity=int(pool.freeLiquidity()),
                ))
            holders = {h: balances[h] for h in env.holders()}
            return Snapshot(holders, rows, markets)

        @invariant()
        def invariants_hold(self) -> None:
            self.step += 1
            if self.step % check_every:
                return
            snap = self.read()
            check_conservation(snap, self.ghost)
            check_sums(snap)
            check_solvency(snap)
            stored = {v: _stored(r) for v, r in self.last_rows.items()}
            check_isolation(stored, {v: _stored(r) for v, r in snap.vaults.items()}, self.touched)
            check_losses(snap.holder_balances, self.ghost, [str(t.address) for t in env.traders])
            for i, m in enumerate(env.markets):
                bad = [v for v, r in snap.vaults.items() if r.market == i and r.status == 1 and r.liquidatable]
                if bad:
                    data = liquidator.liquidateBatch.as_transaction([(m.address, bad)], sender=env.keeper).data
                    done = int.from_bytes(_dry_run(liquidator.address, data, env.keeper.address), "big")
                    check_liveness(bad, done)
            healthy = [v for v, r in snap.vaults.items() if r.status == 1 and not r.liquidatable]
            wrongly = []
            for v in random.Random(self.step).sample(healthy, min(2, len(healthy))):
                data = liquidator.liquidate.as_transaction(v, sender=env.keeper).data
                try:
                    _dry_run(liquidator.address, data, env.keeper.address)
                    wrongly.append(v)
                except Exception:  # noqa: BLE001 - any revert is the safe outcome
                    pass
            check_safety(wrongly)
            self.last_rows = snap.vaults
            self.touched = set()

    return ProtocolMachine


def _dry_run(to: str, data: bytes, sender: str) -> bytes:
    """An eth_call straight through web3 (no Ape trace on a revert, which is slow on Anvil)."""
    from ape import chain

    return bytes(chain.provider.web3.eth.call({"to": to, "from": sender, "data": data}))


def _stored(row: VaultRow) -> tuple:
    """What an action on another vault must not change (health moves with price and time)."""
    return (row.status, row.is_long, row.size, row.margin, row.max_profit, row.balance)
