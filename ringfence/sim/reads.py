"""What the simulation reads back from the chain: the periodic samples (vault health, insurance
funds, LP share prices), the balances at the end, and every protocol event in chain order."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from ringfence.sdk import Protocol
from ringfence.sim.agents import PlannedPosition
from ringfence.sim.chain import SimChain
from ringfence.sim.state import SimMarket

__all__ = ["end_balances", "read_events", "sample"]

WAD = 10**18


def sample(sim: SimChain, markets: list[SimMarket], positions: list[PlannedPosition], gone: set[int],
           block: int, lens: str) -> dict[str, Any]:
    out: dict[str, Any] = {"block": block, "ts": sim.step_time, "markets": []}
    for mi, m in enumerate(markets):
        vaults = [p.vault for n, p in enumerate(positions) if p.market == mi and p.opened and n not in gone]
        health = []
        for i in range(0, len(vaults), 200):
            for v in sim.call(lens, "lensVaults", m.market.address, vaults[i:i + 200]):
                if v[2] == 1:
                    health.append(min(v[10], 100 * WAD) / WAD)
        out["markets"].append({
            "price_wad": m.answer * 10 ** (18 - m.spec.oracle.decimals),
            "fund": sim.balance(m.token, m.fund),
            "share_price": int(sim.call(m.market.address, "convertToAssets", m.share_unit)),  # marked to market
            "liquidity": int(sim.call(m.market.address, "liquidity")),  # realized
            "health": health,
        })
    return out


def end_balances(sim: SimChain, markets: list[SimMarket], positions: list[PlannedPosition],
                 addresses: list[str], holders: set[str], lps: list[str]) -> dict[str, dict[str, Any]]:
    """Per market: every holder's tokens, the pool's, the fund's and the vaults', the traders'
    unclaimed credits, and the pool's LP figures, realized and marked to the oracle."""
    balances = {}
    for m in markets:
        vaults = [str(p.vault) for p in positions if p.opened and p.market == markets.index(m)]
        held = {h: sim.balance(m.token, h) for h in sorted(holders)}
        balances[m.spec.id] = {
            "holders": held,
            "pool": sim.balance(m.token, m.market.address),
            "fund": sim.balance(m.token, m.fund),
            "vaults": sum(sim.balance(m.token, v) for v in vaults),
            "claimable": {a: sum(int(sim.call(m.market.address, "claimable", p.vault)) for p in positions
                                 if p.opened and p.market == markets.index(m) and addresses[p.trader] == a)
                          for a in addresses},
            "liquidity": int(sim.call(m.market.address, "liquidity")),  # realized LP liquidity
            "total_assets_marked": int(sim.call(m.market.address, "totalAssets")),  # marked to the oracle
            "pending_deposits": int(sim.call(m.market.address, "pendingDeposits")),
            "share_price_marked": int(sim.call(m.market.address, "convertToAssets", m.share_unit)),
            "lp_shares": {lp: sim.balance(m.market.address, lp) for lp in lps},
        }
    return balances


def read_events(protocol: Protocol, markets: list[SimMarket], start_block: int) -> list[dict[str, Any]]:
    """Every event of the pools, insurance funds and the liquidator since deployment, in chain order."""
    from ape import chain, project

    sources = [(project.MarginPool, [m.market.address for m in markets]),
               (project.InsuranceFund, [m.fund for m in markets]),
               (project.Liquidator, [str(protocol.liquidator.address)])]
    out = []
    web3 = chain.provider.web3
    ecosystem = chain.provider.network.ecosystem
    head = int(web3.eth.block_number)
    abis = {abi.selector: abi for container, _ in sources for abi in container.contract_type.events}
    addresses = [to_checksum_address(a) for _, group in sources for a in group]
    # One eth_getLogs per 5,000 blocks for every address (py-evm scans every block per request).
    for start in range(start_block, head + 1, 5_000):
        raw = web3.eth.get_logs({"fromBlock": start, "toBlock": min(head, start + 4_999), "address": addresses})
        logs = [dict(lg, topics=[_hex(t) for t in lg["topics"]], data=_hex(lg["data"]),
                     blockHash=_hex(lg["blockHash"]), transactionHash=_hex(lg["transactionHash"]))
                for lg in raw]
        for log in ecosystem.decode_logs(logs, *abis.values()):
            out.append({"block": int(log.block_number), "log_index": int(log.log_index),
                        "tx": _hex(log.transaction_hash), "contract": str(log.contract_address),
                        "event": log.event_name,
                        "args": {k: _plain(v) for k, v in log.event_arguments.items()}})
    out.sort(key=lambda e: (e["block"], e["log_index"]))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (bool, int)):
        return value if isinstance(value, bool) else int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, (bytes, bytearray)) else str(value)
