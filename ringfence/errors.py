"""Contract errors as Python exceptions.

Every custom error of the Ringfence contracts (and the OpenZeppelin errors they can raise) becomes a
:class:`RingfenceError` subclass named after it (``LeverageTooHigh`` -> ``LeverageTooHighError``),
carrying the error's arguments, with a one-line human message. Errors raised by a nested contract (the
oracle adapter under the pool, say) are decoded too: the revert data's selector is looked up among the
errors of every compiled contract of the project.

The messages are written once, as the ``@notice`` of each error in ``interfaces/*.sol``: a template in
which ``{name}`` stands for the error's argument ``name``. They are read from the userdoc of the same
contract types the decoder reads the ABIs from (Ape's project, or what :func:`use_contract_types`
names); only OpenZeppelin's errors, whose NatSpec is not ours, have their messages here
(:data:`THIRD_PARTY_MESSAGES`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from ringfence.solidity import camel_case

# The messages of third-party (OpenZeppelin) errors the contracts can raise: their NatSpec is
# OpenZeppelin's (a ``@dev``, not a message), so ours live here. The ERC-4626 ones say how Ringfence's
# pool differs from a plain vault. Every other message is an error's ``@notice`` in ``interfaces/``.
THIRD_PARTY_MESSAGES: Mapping[str, str] = MappingProxyType({
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
    "ERC20InsufficientBalance": "balance {balance} of {sender} is below {needed}",
    "ERC20InsufficientAllowance": "allowance {allowance} of {spender} is below {needed}",
    "OwnableUnauthorizedAccount": "{account} is not the owner",
    "ReentrancyGuardReentrantCall": "re-entrant call refused",
})

# Test doubles document their errors for the tests' readers; their NatSpec is no message to users.
_TEST_SOURCES = "contracts/test/"


def userdoc_messages(contract_types: Iterable[Any]) -> dict[str, str]:
    """The message template of each error documented in the userdoc of ``contract_types`` (Ape
    ``ContractType`` objects: ``name``, ``source_id``, ``userdoc``), by error name: its ``@notice``,
    whitespace collapsed (solc keeps the indentation of a notice's continuation lines). Contracts under
    ``contracts/test/`` are skipped. An error declared in an interface is documented in the userdoc of
    every contract that inherits or raises it; should two contracts document errors of one name
    differently, the first contract by name wins (tests/unit/test_error_messages.py checks that the
    winner is the interface's notice)."""
    messages: dict[str, str] = {}
    for contract_type in sorted(contract_types, key=lambda c: str(c.name)):
        if str(contract_type.source_id or "").startswith(_TEST_SOURCES):
            continue
        errors = (contract_type.userdoc or {}).get("errors") or {}
        for signature, docs in errors.items():
            name = signature.partition("(")[0]
            notices = [" ".join(str(doc["notice"]).split()) for doc in docs if doc.get("notice")]
            if notices and name not in messages:
                messages[name] = notices[0]
    return messages


class _Messages(Mapping[str, str]):
    """What each error means to a user, as a template formatted with its arguments: the error's
    ``@notice`` from the project's compiled contracts, and :data:`THIRD_PARTY_MESSAGES` (which wins).
    Read-only; loaded on first use (loading Ape's project is slow)."""

    def __init__(self) -> None:
        self._loaded: dict[str, str] | None = None

    def _data(self) -> dict[str, str]:
        if self._loaded is not None:
            return self._loaded
        try:
            loaded = {**userdoc_messages(_project_contract_types()), **THIRD_PARTY_MESSAGES}
        except Exception:  # noqa: BLE001 - no compiled project here: errors read as ``Name(args)``
            return dict(THIRD_PARTY_MESSAGES)
        self._loaded = loaded
        return loaded

    def __getitem__(self, name: str) -> str:
        return self._data()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return f"MESSAGES({self._data()!r})"

    def forget(self) -> None:
        self._loaded = None


_MESSAGES = _Messages()
MESSAGES: Mapping[str, str] = _MESSAGES

_contract_types_loader: Callable[[], Iterable[Any]] | None = None


def use_contract_types(loader: Callable[[], Iterable[Any]] | None) -> None:
    """Reads the errors' ABIs (:func:`project_decoder`) and notices (:data:`MESSAGES`) from the
    contract types ``loader()`` returns instead of Ape's project for the current directory (say,
    ``lambda: ringfence.chain.contracts.contract_types().values()``; None: Ape's project again);
    forgets what was loaded."""
    global _contract_types_loader, _decoder
    _contract_types_loader = loader
    _decoder = None
    _MESSAGES.forget()


def _project_contract_types() -> list[Any]:
    """Every contract type the errors are read from: Ape's project unless :func:`use_contract_types`
    named another source."""
    if _contract_types_loader is not None:
        return list(_contract_types_loader())
    from ape import project

    return list(project.contracts.values())


def render(name: str, inputs: Mapping[str, Any]) -> str:
    """The message of error ``name`` with arguments ``inputs``: its template filled in, or
    ``Name(arg=value, ...)`` when it has none (or the arguments do not fit it)."""
    values = {key: format_value(value) for key, value in inputs.items()}
    template = MESSAGES.get(name)
    if template is not None:
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            pass
    args = ", ".join(f"{key}={value}" for key, value in values.items())
    return f"{name}({args})"


class RingfenceError(Exception):
    """A contract call reverted with a known error (or the reference model, :mod:`ringfence.model`,
    says it would). ``name`` and ``inputs`` are the error's: its name and its arguments by their ABI
    names, also readable as attributes in either spelling (``error.openInterest``,
    ``error.open_interest``). ``message`` is the error's ``@notice`` filled in (see :func:`render`),
    rendered when first read."""

    name: str = "Unknown"

    def __init__(self, inputs: dict[str, Any] | None = None, message: str | None = None):
        self.inputs: dict[str, Any] = dict(inputs or {})
        self._message = message
        super().__init__()

    @property
    def message(self) -> str:
        if self._message is None:
            self._message = render(self.name, self.inputs)
        return self._message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.inputs.items())
        return f"{type(self).__name__}({args})"

    def __getattr__(self, item: str) -> Any:
        inputs = self.__dict__.get("inputs", {})
        for key in (item, camel_case(item)):
            if key in inputs:
                return inputs[key]
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
        # imported here: eth_utils loads pydantic, which the model (raising these errors) does not need
        from eth_utils import keccak

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
        from eth_abi import decode as abi_decode

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
        abis = []
        for contract_type in _project_contract_types():
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


_LONG_HEX = re.compile(r"0x[0-9a-fA-F]{66,}")


def one_line(text: Any, limit: int = 300) -> str:
    """``text`` (an exception, say) as one line for a user: its first non-blank line, stripped, with
    hex blobs longer than a hash (a transaction's data, a contract's code) shortened to their size,
    and cut at ``limit`` characters."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = _LONG_HEX.sub(lambda m: f"0x… ({(len(m.group(0)) - 2) // 2} bytes)", lines[0] if lines else "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


@contextmanager
def contract_errors() -> Iterator[None]:
    """Re-raises contract reverts inside the block as :class:`RingfenceError` subclasses."""
    from ape.exceptions import ContractLogicError

    try:
        yield
    except ContractLogicError as exc:
        raise translate(exc) from exc
