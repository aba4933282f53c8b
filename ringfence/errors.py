"""Contract errors as Python exceptions.

Every custom error of the Ringfence contracts (and the OpenZeppelin errors they can raise) becomes a
:class:`RingfenceError` subclass named after it (``LeverageTooHigh`` -> ``LeverageTooHighError``),
carrying the error's arguments, with a one-line human message. Errors raised by a nested contract (the
oracle adapter under the pool, say) are decoded too: the revert data's selector is looked up among the
errors of every compiled contract of the project.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak

# What each error means to a user, formatted with its arguments.
MESSAGES: dict[str, str] = {
    "StalePrice": "oracle price is stale: updated at {updatedAt}, older than the {maxAge}s bound",
    "PriceFromFuture": "oracle price is timestamped in the future ({updatedAt})",
    "NonPositivePrice": "oracle answered a non-positive price ({answer})",
    "IncompleteRound": "oracle round {roundId} is incomplete (answered in {answeredInRound})",
    "PriceOutOfBounds": "oracle answer {answer} is outside the market's band [{minAnswer}, {maxAnswer}]",
    "OracleCallFailed": "the price feed {feed} could not be read",
    "FeedDecimalsChanged": ("the price feed's decimals changed from {expected} to {actual}: the owner must "
                            "move the market to a new oracle adapter (adding margin still works)"),
    "SequencerDown": "the L2 sequencer is down: no new risk can be taken",
    "SequencerGracePeriod": "the L2 sequencer is back since {upSince}; waiting {gracePeriod}s grace",
    "ZeroAmount": "the amount must be positive",
    "ZeroSize": "the position size must be positive",
    "MarginBelowMinimum": "margin {margin} is below the market minimum {minimum}",
    "NotionalBelowMinimum": "position notional {notional} is below the market minimum {minimum}",
    "PositionTooLarge": "position notional {notional} is above the market maximum {maximum}",
    "OpenInterestCapExceeded": "open interest would be {openInterest}, above the cap {cap}",
    "LeverageTooHigh": "leverage too high: margin after fees {available} < initial margin {required}",
    "InsufficientMargin": "margin would fall below initial margin: {available} < {required}",
    "InsufficientLiquidity": "the pool's free liquidity {free} cannot reserve the payout {needed}",
    "MarketPaused": "the market is paused for opening (adding margin and closing still work)",
    "NotVaultOwner": "{caller} does not own this vault (owner {owner})",
    "UnknownVault": "{vault} is not a vault of this market",
    "PositionNotOpen": "the position of {vault} is not open",
    "PositionAlreadyOpen": "vault {vault} already holds an open position",
    "PriceSlippage": "oracle price {priceWad} is beyond the acceptable price {acceptablePriceWad}",
    "TransferAmountMismatch": "the token moved {received} instead of {expected} (fee or rebase?)",
    "ParameterOutOfBounds": "parameter {name} = {value} is outside [{min}, {max}]",
    "ParamsUnchanged": "the new parameters equal the current ones",
    "NotGuardian": "{caller} is neither the guardian nor the owner",
    "ERC4626ExceededMaxDeposit": ("deposit of {assets} exceeds the maximum {max}: once the pool has "
                                  "shares, LPs enter by request (requestDeposit, settled after the "
                                  "next oracle round)"),
    "ERC4626ExceededMaxMint": ("mint of {shares} shares exceeds the maximum {max} shares: once the pool "
                               "has shares, LPs enter by request (requestDeposit, settled after the "
                               "next oracle round)"),
    "ERC4626ExceededMaxWithdraw": ("withdrawal of {assets} exceeds the maximum {max}: LPs leave by "
                                   "request (requestRedeem, settled after the next oracle round)"),
    "ERC4626ExceededMaxRedeem": ("redemption of {shares} shares exceeds the maximum {max} shares: LPs "
                                 "leave by request (requestRedeem, settled after the next oracle round)"),
    "RequestPending": ("{controller} already has a pending request of this kind (one at a time): "
                       "settle it first"),
    "NoRequest": "{controller} has no pending request to settle",
    "RequestNotReady": ("the request waits for an oracle round after {requestedAt} "
                        "(latest round at {priceUpdatedAt})"),
    "ERC20InsufficientBalance": "balance {balance} of {sender} is below {needed}",
    "ERC20InsufficientAllowance": "allowance {allowance} of {spender} is below {needed}",
    "OwnableUnauthorizedAccount": "{account} is not the owner",
    "NothingToClaim": "vault {vault} has nothing to claim",
    "HealthyPosition": "vault {vault} is healthy at price {priceWad} (liquidation price {liquidationPriceWad})",
    "NotLiquidator": "{caller} may only liquidate for itself (only the Liquidator names another keeper)",
    "LiquidatorNotSet": "the factory's liquidator must be set before creating a market",
    "LiquidatorAlreadySet": "the liquidator is already set ({liquidator})",
    "UnknownPool": "{pool} is not a pool of this factory",
    "ZeroAddress": "an address argument is zero",
    "EmptyBatch": "the batch names no pool",
    "RenounceDisabled": "the factory cannot be left without an owner: transfer it instead",
    "ReentrancyGuardReentrantCall": "re-entrant call refused",
}


class RingfenceError(Exception):
    """A contract call reverted with a known error. ``name`` and ``inputs`` are the error's."""

    name: str = "Unknown"

    def __init__(self, inputs: dict[str, Any] | None = None, message: str | None = None):
        self.inputs: dict[str, Any] = dict(inputs or {})
        template = MESSAGES.get(self.name)
        if message is None:
            if template is not None:
                message = template.format(**{k: format_value(v) for k, v in self.inputs.items()})
            else:
                args = ", ".join(f"{k}={format_value(v)}" for k, v in self.inputs.items())
                message = f"{self.name}({args})"
        self.message = message
        super().__init__(message)

    def __getattr__(self, item: str) -> Any:
        inputs = self.__dict__.get("inputs", {})
        if item in inputs:
            return inputs[item]
        raise AttributeError(item)


class UnknownRevertError(RingfenceError):
    """A revert whose data matches no known error (a string reason, a panic, or nothing)."""

    name = "Unknown"


_classes: dict[str, type[RingfenceError]] = {}


def error_class(name: str) -> type[RingfenceError]:
    """The exception class of contract error ``name`` (``LeverageTooHigh`` -> ``LeverageTooHighError``)."""
    if name not in _classes:
        _classes[name] = type(f"{name}Error", (RingfenceError,), {"name": name})
    return _classes[name]


def format_value(value: Any) -> str:
    if isinstance(value, bytes):
        stripped = value.rstrip(b"\0")
        try:
            return stripped.decode()
        except UnicodeDecodeError:
            return "0x" + value.hex()
    return str(value)


class ErrorDecoder:
    """Decodes revert data against the errors of a set of contract ABIs."""

    def __init__(self, abis: list[list[dict[str, Any]]]):
        self._by_selector: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [_abi_type(i) for i in item.get("inputs", [])]
                names = [i.get("name") or f"arg{n}" for n, i in enumerate(item.get("inputs", []))]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                self._by_selector[selector] = (item["name"], names, types)

    def decode(self, data: bytes) -> RingfenceError:
        """The exception for revert ``data``."""
        if len(data) >= 4 and data[:4] in self._by_selector:
            name, names, types = self._by_selector[data[:4]]
            try:
                values = abi_decode(types, data[4:]) if types else ()
            except Exception:  # noqa: BLE001 - arguments lost on the way (e.g. rendered as text)
                return error_class(name)({}, message=f"{name} (arguments unavailable)")
            return error_class(name)(dict(zip(names, values)))
        if data[:4] == bytes.fromhex("08c379a0"):
            (reason,) = abi_decode(["string"], data[4:])
            return UnknownRevertError(message=f"reverted: {reason}")
        return UnknownRevertError(message=f"reverted with data 0x{data.hex()}")


def _abi_type(item: dict[str, Any]) -> str:
    kind = item["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){kind[5:]}"
    return kind


_decoder: ErrorDecoder | None = None


def project_decoder() -> ErrorDecoder:
    """A decoder over every contract type compiled in the current Ape project (built once)."""
    global _decoder
    if _decoder is None:
        from ape import project

        abis = []
        for contract_type in project.contracts.values():
            abis.append([entry.model_dump(mode="json", by_alias=True) for entry in contract_type.abi])
        _decoder = ErrorDecoder(abis)
    return _decoder


def translate(exc: Exception) -> RingfenceError:
    """The :class:`RingfenceError` for an exception Ape raised on a reverted call or transaction."""
    from ape.exceptions import CustomError

    if isinstance(exc, CustomError):
        return error_class(exc.name)(dict(exc.inputs))
    data = _revert_data(exc)
    if data is not None:
        return project_decoder().decode(data)
    return UnknownRevertError(message=str(exc) or type(exc).__name__)


def _revert_data(exc: Exception) -> bytes | None:
    """The raw revert data carried by an Ape exception, when there is some."""
    base = getattr(exc, "base_err", None)
    return revert_data_from([getattr(exc, "revert_message", None), getattr(base, "data", None),
                             str(base) if base is not None else None])


def revert_data_from(candidates: Iterable[Any]) -> bytes | None:
    """The first revert data found among ``candidates`` (the fields of an exception, in order of trust).

    Providers and libraries keep it as bytes, as a hex string, as the ``repr`` of bytes (eth-tester's
    ``execution reverted: b'...'``), as web3's ``(message, data)`` tuple, or as Anvil's text rendering.
    """
    for candidate in candidates:
        if isinstance(candidate, tuple) and candidate:  # web3's ContractLogicError args: (message, data)
            candidate = candidate[-1]
        if isinstance(candidate, bytes) and candidate:
            return candidate
        if not isinstance(candidate, str):
            continue
        if candidate.startswith("0x"):
            try:
                return bytes.fromhex(candidate[2:])
            except ValueError:
                continue
        if (anvil := anvil_revert_data(candidate)) is not None:
            return anvil
        rendered = candidate.partition("execution reverted: ")[2] or candidate
        if rendered[:2] in ("b'", 'b"'):
            try:
                value = ast.literal_eval(rendered)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, bytes) and value:
                return value
    return None


_ANVIL_ERROR = re.compile(r"custom error 0x([0-9a-fA-F]{8})(?::\s?(.*))?", re.DOTALL)


def anvil_revert_data(message: str) -> bytes | None:
    """Revert data back from Anvil's text rendering ``custom error 0x<selector>: <args>`` (what
    reaches Ape when Anvil has no ABI for the error). The arguments come as hex, or as text when
    their bytes happen to be valid UTF-8 (then encoding the text gives them back). When neither
    gives whole ABI words, only the selector is recovered."""
    match = _ANVIL_ERROR.search(message)
    if match is None:
        return None
    selector, rendered = match.group(1), match.group(2) or ""
    hex_args = re.match(r"[0-9a-fA-F]*", rendered).group(0)  # type: ignore[union-attr]  # `*` always matches
    if hex_args == rendered.strip() and len(hex_args) % 2 == 0:
        return bytes.fromhex(selector + hex_args)
    raw = rendered.encode("utf-8", errors="surrogateescape")
    if len(raw) % 32 == 0:
        return bytes.fromhex(selector) + raw
    return bytes.fromhex(selector + (hex_args if len(hex_args) % 2 == 0 else ""))


@contextmanager
def contract_errors() -> Iterator[None]:
    """Re-raises contract reverts inside the block as :class:`RingfenceError` subclasses."""
    from ape.exceptions import ContractLogicError

    try:
        yield
    except ContractLogicError as exc:
        raise translate(exc) from exc
