"""The traders' rules of the market machine: opening positions (by leverage, or small and
overcollateralised), moving margin in and out, closing, claiming a liquidation's credit, and donating
tokens to vaults and pools (and recovering a vault's donation). A stranger's attempts to move a vault's
margin out are dry-run on the way (invariant 5 of docs/design.md)."""

from __future__ import annotations

from eth_abi import decode
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ringfence import model
from ringfence.chain.rpc import logs_of
from ringfence.errors import RingfenceError
from ringfence.fuzz.base import PICK, WAD, MachineBase
from ringfence.fuzz.calls import (
    ADD_MARGIN,
    BAD_DEBT_COVERED,
    CLAIM,
    CLOSE,
    OPEN,
    RECOVER,
    REMOVE_MARGIN,
    TRANSFER,
)
from ringfence.fuzz.env import FEED_DECIMALS, USDC
from ringfence.fuzz.stats import Stats


class TraderRules(MachineBase):
    @rule(trader=st.integers(0, 3), market=st.integers(0, 1), nonce=st.integers(0, 2),
          is_long=st.booleans(), size_centi=st.one_of(st.integers(1, 4), st.integers(1, 2_000)),
          lev_tenths=st.integers(10, 120))
    def open(self, trader: int, market: int, nonce: int, is_long: bool, size_centi: int,
             lev_tenths: int) -> None:
        world = self.world
        who = world.traders[trader]
        size = size_centi * WAD // 100
        price = self.answers[market] * 10 ** (18 - FEED_DECIMALS)
        notional = model.notional_up(size, price, world.scales[market])
        margin = notional * 10 // lev_tenths + model.requirement_up(notional, WAD // 1000) + 1
        vault = world.vault_of[(market, trader, nonce)]
        self.touched |= {vault}
        pre = self._pre()
        if self._try("open", who, world.pools[market], OPEN(nonce, is_long, size, margin, 0)) is None:
            self.vaults[vault] = (market, trader)
            self._paid(who, margin)
            self._neutral("open", pre, [market])

    @rule(trader=st.integers(0, 3), market=st.integers(0, 1), nonce=st.integers(0, 2),
          is_long=st.booleans(), size_centi=st.integers(1, 4), margin_k=st.integers(1, 50))
    def open_overcollateralised(self, trader: int, market: int, nonce: int, is_long: bool,
                                size_centi: int, margin_k: int) -> None:
        """A small position with a large margin: the LP-freeze shape (its reserve must follow the notional)."""
        world = self.world
        who = world.traders[trader]
        margin = margin_k * 1_000 * USDC
        vault = world.vault_of[(market, trader, nonce)]
        self.touched |= {vault}
        size = size_centi * WAD // 100
        pre = self._pre()
        if self._try("open_overcollateralised", who, world.pools[market],
                     OPEN(nonce, is_long, size, margin, 0)) is None:
            self.vaults[vault] = (market, trader)
            self._paid(who, margin)
            self._neutral("open", pre, [market])

    @precondition(lambda self: self.vaults)
    @rule(pick=PICK, keep=st.integers(10, 500))
    def remove_down_to(self, pick: int, keep: int) -> None:
        """Removes all of a vault's margin but ``keep`` USDC (the LP-freeze's second step)."""
        vault = self._pick(pick)
        row = self.last_rows.get(vault)
        if row is None or row.status != 1 or row.margin <= keep * USDC:
            return
        market, owner_index = self.vaults[vault]
        owner = self.world.traders[owner_index]
        self.touched |= {vault}
        pre = self._pre()
        if self._try("remove_down_to", owner, self.world.pools[market],
                     REMOVE_MARGIN(vault, row.margin - keep * USDC, owner)) is None:
            self._neutral("remove margin", pre, [market])

    @precondition(lambda self: self.vaults)
    @rule(pick=PICK, payer=st.integers(0, 3), amount=st.integers(1, 2_000))
    def add_margin(self, pick: int, payer: int, amount: int) -> None:
        vault = self._pick(pick)
        market, _ = self.vaults[vault]
        who = self.world.traders[payer]
        self.touched |= {vault}
        pre = self._pre()
        if self._try("add_margin", who, self.world.pools[market], ADD_MARGIN(vault, amount * USDC)) is None:
            self._paid(who, amount * USDC)
            self._neutral("add margin", pre, [market])

    @precondition(lambda self: self.vaults)
    @rule(pick=PICK, amount=st.integers(1, 1_000), stranger=st.integers(0, 3))
    def remove_margin(self, pick: int, amount: int, stranger: int) -> None:
        world = self.world
        vault = self._pick(pick)
        market, owner_index = self.vaults[vault]
        owner, pool = world.traders[owner_index], world.pools[market]
        self.touched |= {vault}
        other = world.traders[stranger]
        if other != owner and vault in self._open_vaults():
            # 5. Safety: nobody but the owner moves margin out (dry runs: a success is the finding).
            for what, data in (("removed margin from", REMOVE_MARGIN(vault, amount * USDC, other)),
                               ("closed", CLOSE(vault, other, 0)),
                               ("recovered a donation of", RECOVER(vault, world.token, other))):
                try:
                    world.node.dry_run(other, pool, data)
                except RingfenceError as exc:
                    assert exc.name == "NotVaultOwner", exc
                else:
                    raise AssertionError(f"a stranger {what} {vault}")
        pre = self._pre()
        if self._try("remove_margin", owner, pool, REMOVE_MARGIN(vault, amount * USDC, owner)) is None:
            self._neutral("remove margin", pre, [market])

    @precondition(lambda self: self.vaults)
    @rule(pick=PICK)
    def close(self, pick: int) -> None:
        vault = self._pick(pick)
        market, owner_index = self.vaults[vault]
        owner, pool = self.world.traders[owner_index], self.world.pools[market]
        self.touched |= {vault}
        pre = self._pre()
        if self._try("close", owner, pool, CLOSE(vault, owner, 0)) is None:
            borne = sum(decode(["uint256"] * 3, data)[2]
                        for _, data in logs_of(self.receipt or {}, pool, BAD_DEBT_COVERED))
            self._neutral("close", pre, [market], borne=borne)

    @rule(trader=st.integers(0, 3), market=st.integers(0, 1), nonce=st.integers(0, 2))
    def claim(self, trader: int, market: int, nonce: int = 0) -> None:
        # A liquidation's credit stays in the vault's record until its owner claims it: claim one when
        # there is one (by its owner, or by a stranger, who must fail), else a vault that may have none.
        world = self.world
        credited = [v for v, row in self.last_rows.items() if row.status == 2 and row.margin > 0]
        if credited:
            vault = credited[(trader * 3 + nonce) % len(credited)]
            market, owner_index = self.vaults[vault]
            owner, stranger = world.traders[owner_index], world.traders[trader]
            if stranger != owner:
                try:
                    world.node.dry_run(stranger, world.pools[market], CLAIM(vault, stranger))
                except RingfenceError as exc:
                    assert exc.name == "NotVaultOwner", exc
                else:
                    raise AssertionError(f"a stranger claimed the credit of {vault}")
            who = owner
        else:
            who, vault = world.traders[trader], world.vault_of[(market, trader, nonce)]
        self.touched |= {vault}
        pre = self._pre()
        if self._try("claim", who, world.pools[market], CLAIM(vault, who)) is None:
            self._neutral("claim", pre, [market])

    @precondition(lambda self: self.vaults)
    @rule(pick=PICK, market=st.integers(0, 1), amount=st.integers(1, 500), to_pool=st.booleans())
    def donate(self, pick: int, market: int, amount: int, to_pool: bool) -> None:
        world = self.world
        donor = world.traders[0]
        self._neutral("donation", self._pre(), list(range(len(world.pools))))
        if to_pool:
            world.node.send(donor, world.token, TRANSFER(world.pools[market], amount))
            self.ghost.pool_donations[market] += amount
        else:
            vault = self._pick(pick)
            world.node.send(donor, world.token, TRANSFER(vault, amount))
            self.ghost.vault_donations[vault] = self.ghost.vault_donations.get(vault, 0) + amount
            self.touched |= {vault}
        self._paid(donor, amount)
        Stats.count("donate")

    @precondition(lambda self: any(self.ghost.vault_donations.values()))
    @rule(pick=PICK)
    def recover_donation(self, pick: int) -> None:
        vault = self._pick(pick, [v for v in self.vaults if self.ghost.vault_donations.get(v)])
        market, owner_index = self.vaults[vault]
        owner = self.world.traders[owner_index]
        self.touched |= {vault}
        self._neutral("recover donation", self._pre(), [market])
        self.world.node.send(owner, self.world.pools[market], RECOVER(vault, self.world.token, owner))
        amount = self.ghost.vault_donations.pop(vault)
        self.ghost.paid_in[owner] = self.ghost.paid_in.get(owner, 0) - amount
        Stats.count("recover_donation")
