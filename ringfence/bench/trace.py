"""Where a transaction's gas goes, from Anvil's ``debug_traceTransaction`` (struct logs + call tracer).

Two views per transaction:

* **by contract**: each call frame's own gas (frame ``gasUsed`` minus its children's), summed per
  labelled address (pool, vault clone, vault implementation, oracle, feed proxy, aggregator, token…);
* **by kind**: every opcode's gas in every frame, grouped (storage writes by their EIP-2929/2200 cost,
  cold/warm reads, call overhead incl. cold account access, contract creation, logs, the rest), plus
  the intrinsic cost and the refund.

A call's own cost is what the caller's gas counter lost over the call minus what the callee spent,
so nothing is counted twice. Anvil prunes old states (``--prune-history``): trace right after the
transaction is mined.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ringfence.chain.rpc import call

CALLS = {"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"}
CREATES = {"CREATE", "CREATE2"}
ACCOUNT_ACCESS = {"BALANCE", "EXTCODESIZE", "EXTCODECOPY", "EXTCODEHASH"}

SSTORE_KINDS = {
    22100: "SSTORE new slot (0→x), cold",
    20000: "SSTORE new slot (0→x), warm",
    5000: "SSTORE update (x→y), cold",
    2900: "SSTORE update (x→y), warm",
    2200: "SSTORE no-op, cold",
    100: "SSTORE no-op / dirty slot, warm",
}


@dataclass
class TxTrace:
    op: str
    protocol: str
    tx_hash: str
    label: str
    gas_used: int
    intrinsic: int
    refund: int
    by_contract: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def top(self, view: str, n: int = 8) -> list[tuple[str, int]]:
        d = self.by_contract if view == "contract" else self.by_kind
        return sorted(d.items(), key=lambda kv: -kv[1])[:n]


def _intrinsic(tx_input: str) -> int:
    data = bytes.fromhex(tx_input.removeprefix("0x"))
    zeros = data.count(0)
    return 21_000 + 4 * zeros + 16 * (len(data) - zeros)


def _kind(op: str, cost: int) -> str:
    if op == "SSTORE":
        return SSTORE_KINDS.get(cost, f"SSTORE ({cost})")
    if op == "SLOAD":
        return "SLOAD cold (2100)" if cost >= 2100 else "SLOAD warm (100)"
    if op in ("TLOAD", "TSTORE"):
        return "TLOAD/TSTORE (reentrancy lock)"
    if op.startswith("LOG"):
        return "LOG (events)"
    if op == "KECCAK256":
        return "KECCAK256"
    if op in ACCOUNT_ACCESS:
        return "EXTCODESIZE/BALANCE (account access)"
    return "compute, memory, calldata, returns"


def analyse(struct_logs: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """Gas by kind and counts of each kind, over all frames, without double counting calls."""
    by_kind: dict[str, int] = defaultdict(int)
    counts: Counter[str] = Counter()
    n = len(struct_logs)
    # the next step at the same depth (the return point of a call); None for a frame's last step
    next_same: list[int | None] = [None] * n
    pending: dict[int, int] = {}
    for i, step in enumerate(struct_logs):
        d = step["depth"]
        for depth in [k for k in pending if k > d]:
            pending.pop(depth)
        if d in pending:
            next_same[pending.pop(d)] = i
        pending[d] = i
    # what each step cost its frame: a call step includes everything its callee spent
    consumed = [0] * n
    for i, step in enumerate(struct_logs):
        j = next_same[i]
        consumed[i] = (step["gas"] - struct_logs[j]["gas"]) if j is not None else int(step["gasCost"])
    # the call step whose callee runs each step, and what each callee spent in all
    child_total: dict[int, int] = defaultdict(int)
    stack: list[int] = []
    for i, step in enumerate(struct_logs):
        d = step["depth"]
        while stack and struct_logs[stack[-1]]["depth"] >= d:
            stack.pop()
        if stack:
            child_total[stack[-1]] += consumed[i]
        if step["op"] in CALLS | CREATES:
            stack.append(i)
    for i, step in enumerate(struct_logs):
        op = step["op"]
        if op in CALLS:
            kind = "CALL overhead (cold 2600 / warm 100 account, memory)"
            cost = consumed[i] - child_total.get(i, 0)
        elif op in CREATES:
            kind = "CREATE/CREATE2 (32000 + code deposit)"
            cost = consumed[i] - child_total.get(i, 0)
        else:
            cost = int(step["gasCost"])
            kind = _kind(op, cost)
        by_kind[kind] += cost
        counts[kind] += 1
    return dict(by_kind), dict(counts)


def _frames(frame: dict[str, Any], labels: dict[str, str], out: dict[str, int], adjust: int = 0) -> None:
    """Own gas per frame; `adjust` is added to this frame only (the top frame's ``gasUsed`` is the
    transaction's: it includes the intrinsic cost and is net of the refund)."""
    used = int(frame.get("gasUsed", "0x0"), 16)
    children = frame.get("calls", []) or []
    own = used - sum(int(c.get("gasUsed", "0x0"), 16) for c in children) + adjust
    to = str(frame.get("to", "")).lower()
    name = labels.get(to, to[:10] + "…")
    if frame.get("type") == "DELEGATECALL":
        name += " (delegate)"
    out[name] = out.get(name, 0) + own
    for c in children:
        _frames(c, labels, out)


def trace_tx(w3: Any, tx_hash: str, op: str, protocol: str, label: str, labels: dict[str, str]) -> TxTrace:
    """Traces one mined transaction (call tracer + opcode struct logs)."""
    uri = w3.provider.endpoint_uri  # the bench's Anvil, over HTTP

    def rpc(method: str, params: list[Any]) -> Any:
        return call(uri, method, *params)

    receipt = w3.eth.get_transaction_receipt(tx_hash)
    tx = w3.eth.get_transaction(tx_hash)
    tx_input = tx["input"] if isinstance(tx["input"], str) else "0x" + bytes(tx["input"]).hex()
    calls = rpc("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])
    logs = rpc("debug_traceTransaction", [tx_hash, {"enableMemory": False, "disableStack": True,
                                                     "disableStorage": True, "enableReturnData": False}])
    steps = logs["structLogs"]
    by_kind, counts = analyse(steps)
    intrinsic = _intrinsic(tx_input)
    execution = sum(by_kind.values())
    gas_used = int(receipt["gasUsed"])
    refund = max(0, intrinsic + execution - gas_used)
    by_contract: dict[str, int] = {}
    _frames(calls, labels, by_contract, adjust=refund - intrinsic)
    by_contract["(intrinsic: 21,000 + calldata)"] = intrinsic
    if refund:
        by_contract["(refund)"] = -refund
    by_kind = {"intrinsic (21,000 + calldata)": intrinsic, **by_kind}
    if refund:
        by_kind["refund (cleared slots, capped at 1/5)"] = -refund
    return TxTrace(op, protocol, tx_hash, label, gas_used, intrinsic, refund, by_contract, by_kind, counts)


def markdown(traces: list[TxTrace], n: int = 8) -> str:
    """A report section: for each traced transaction, its biggest costs by contract and by kind."""
    lines = ["## Where the gas goes (Anvil `debug_traceTransaction`)", "",
             ("Own gas of each call frame by contract (the transaction's 21,000 + calldata included as a "
             "row), and all opcodes by kind (a call's own cost excludes its callee's)."), ""]
    for t in traces:
        lines.append(f"### {t.protocol} · {t.op} · `{t.label}` — {t.gas_used:,} gas")
        lines.append("")
        lines.append("| by contract | gas | | by kind | gas | count |")
        lines.append("| --- | ---: | --- | --- | ---: | ---: |")
        left = sorted(t.by_contract.items(), key=lambda kv: -abs(kv[1]))[:n]
        right = sorted(t.by_kind.items(), key=lambda kv: -abs(kv[1]))[:n + 2]
        for k in range(max(len(left), len(right))):
            a = left[k] if k < len(left) else ("", None)
            b = right[k] if k < len(right) else ("", None)
            count = t.counts.get(b[0], "") if b[1] is not None else ""
            lines.append(f"| {a[0]} | {'' if a[1] is None else f'{a[1]:,}'} | | {b[0]} | "
                         f"{'' if b[1] is None else f'{b[1]:,}'} | {count} |")
        lines.append("")
    return "\n".join(lines)
