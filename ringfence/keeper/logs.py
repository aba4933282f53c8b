"""The keeper's events, fetched with raw ``eth_getLogs`` and decoded here against their ABIs.

Ape's log decoding (``provider.get_contract_logs``: a pydantic ``ContractLog`` per log, every field
validated) costs milliseconds a log; after a mass partial liquidation the keeper's next pass reads one
``Liquidated`` event per vault, thousands of them, and spent seconds there. Here one request per
chunk asks for the factory's and every pool's events (a topic-0 filter of the selectors), and each
log is decoded by a per-topic-0 decoder built once from the event's ABI: the indexed arguments from
the topics, the others from the data, with the values Ape gives (addresses as checksummed strings,
integers and booleans as such, a struct as the list of its fields).

An event whose arguments are all elementary static types (every event the keeper indexes but
``ParamsUpdated``) is decoded word by word from the hex text (eth_abi's decoders cost ~50 µs a log);
any other, or data of an unexpected length, goes through ``eth_abi.decode``. Addresses are
checksummed through a cache: the same vaults, owners and keeper come back event after event.
``tests/keeper/test_logs.py`` checks the decoding field by field against Ape's on the same logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any, NamedTuple

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from ringfence.chain.rpc import in_process

__all__ = ["EventDecoder", "Log", "get_logs", "topic0"]

_WORD = 64  # hex digits a word
_INT = re.compile(r"(u?)int(\d*)$")
_BYTES_N = re.compile(r"bytes(\d+)$")


class Log(NamedTuple):
    """One decoded event: what the keeper reads of Ape's ``ContractLog``, under the same names."""

    event_name: str
    event_arguments: dict[str, Any]
    contract_address: str  # checksummed
    block_number: int
    log_index: int
    transaction_hash: str  # 0x-prefixed lower-case hex


def topic0(event: Any) -> str:
    """The event's first topic, 0x-prefixed lower-case hex (as Ape's ``decode_logs`` keys it)."""
    return "0x" + keccak(text=event.selector).hex()


@lru_cache(maxsize=1 << 17)
def _address(word: str) -> str:
    """The checksummed address in the last 40 hex digits of ``word`` (a topic, a data word, an address)."""
    return to_checksum_address("0x" + word[-40:])


def _hex(value: Any) -> str:
    """0x-prefixed lower-case hex from what a provider returns (hex text from a node, bytes from web3)."""
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _signed(bits: int, word: str) -> int:
    value = int(word, 16) & ((1 << bits) - 1)
    return value - (1 << bits) if value >> (bits - 1) else value


def _bool(word: str) -> bool:
    value = int(word, 16)
    if value > 1:
        raise ValueError(f"bool word out of range: 0x{word}")
    return value == 1


def _bytes(size: int, word: str) -> bytes:
    return bytes.fromhex(word[:2 * size])


def _word_decoder(abi_type: str) -> Callable[[str], Any] | None:
    """A decoder of one 64-hex-digit word for an elementary static type; None for any other type."""
    match = _INT.match(abi_type)
    if match:
        if match.group(1):  # uintN: the word's value (no range check, as the node wrote it)
            return partial(int, base=16)
        return partial(_signed, int(match.group(2) or 256))
    if abi_type == "bool":
        return _bool
    if abi_type == "address":
        return _address
    match = _BYTES_N.match(abi_type)
    if match:
        return partial(_bytes, int(match.group(1)))
    return None


def _formatter(param: Any) -> Callable[[Any], Any]:
    """Turns eth_abi's value for ``param`` into Ape's: checksummed addresses, a struct as a list."""
    abi_type = str(param.type)
    if abi_type.endswith("]"):
        inner = param.model_copy(update={"type": abi_type[:abi_type.rindex("[")]})
        element = _formatter(inner)
        return lambda values: [element(v) for v in values]
    if abi_type == "tuple":
        fields = [_formatter(c) for c in param.components or []]
        return lambda values: [fmt(v) for fmt, v in zip(fields, values, strict=True)]
    if abi_type == "address":
        return lambda value: _address(value.lower())
    return lambda value: value


class EventDecoder:
    """Decodes the logs of the given events (Ape ``EventABI``\\ s), keyed by their first topic."""

    def __init__(self, events: Iterable[Any]) -> None:
        self._events: dict[str, _Event] = {}
        for event in events:
            self._events[topic0(event)] = _Event(event)

    @property
    def topics(self) -> list[str]:
        """The events' first topics: the ``eth_getLogs`` topic-0 filter."""
        return list(self._events)

    def decode(self, raw: Mapping[str, Any]) -> Log | None:
        """One log as ``eth_getLogs`` returns it (raw JSON or web3's formatted dict); None when it is
        none of the events."""
        topics = raw.get("topics")
        if not topics:
            return None
        topics = [t.lower() for t in topics] if isinstance(topics[0], str) else [_hex(t) for t in topics]
        event = self._events.get(topics[0])
        if event is None:
            return None
        return Log(event.name, event.arguments(topics, _hex(raw["data"])),
                   _address(_hex(raw["address"])), _int(raw["blockNumber"]), _int(raw["logIndex"]),
                   _hex(raw.get("transactionHash") or b""))


class _Event:
    """One event's decoder: its indexed arguments from the topics, the others from the data."""

    def __init__(self, event: Any) -> None:
        self.name = str(event.name)
        self.topics = 1 + sum(1 for p in event.inputs if p.indexed)
        data_params = [p for p in event.inputs if not p.indexed]
        self.data_names = [str(p.name) for p in data_params]
        self.data_types = [str(p.canonical_type) for p in data_params]
        self.formatters = [_formatter(p) for p in data_params]
        self.data_hex = _WORD * len(data_params)
        # Per argument, in the event's order: (name, in a topic?, its topic or data word, word decoder).
        self.plan: list[tuple[str, bool, int, Callable[[str], Any] | None]] = []
        topic = 1
        word = 0
        for param in event.inputs:
            decoder = _word_decoder(str(param.canonical_type))
            if param.indexed:
                if decoder is None:  # a hashed dynamic value: the keeper indexes none
                    raise TypeError(f"{self.name}: indexed {param.canonical_type} is not supported")
                self.plan.append((str(param.name), True, topic, decoder))
                topic += 1
            else:
                self.plan.append((str(param.name), False, word, decoder))
                word += 1
        self.static = all(decoder is not None for _, _, _, decoder in self.plan)

    def arguments(self, topics: Sequence[str], data: str) -> dict[str, Any]:
        if len(topics) != self.topics:
            raise ValueError(f"{self.name}: {len(topics)} topics for {self.topics - 1} indexed argument(s)")
        if self.static and len(data) == 2 + self.data_hex:
            return {name: decoder(topics[i][2:] if in_topic else data[2 + _WORD * i:2 + _WORD * (i + 1)])  # type: ignore[misc]
                    for name, in_topic, i, decoder in self.plan}
        decoded = dict(zip(self.data_names, (fmt(v) for fmt, v in zip(
            self.formatters, decode(self.data_types, bytes.fromhex(data[2:])), strict=True)), strict=True))
        return {name: decoder(topics[i][2:]) if in_topic else decoded[name]  # type: ignore[misc]
                for name, in_topic, i, decoder in self.plan}


def get_logs(provider: Any, addresses: Sequence[str], topics: Sequence[str], start: int, stop: int) -> list[Any]:
    """The raw logs of ``addresses`` with one of ``topics`` as topic 0 in blocks ``start..stop``, in
    one ``eth_getLogs`` request through the Ape ``provider`` (raw JSON from a node; web3's formatted
    logs from the embedded chain, whose web3 provider expects its own request format)."""
    params = {"address": list(addresses), "fromBlock": hex(start), "toBlock": hex(stop), "topics": [list(topics)]}
    web3 = provider.web3
    if in_process(web3):
        return list(web3.eth.get_logs(params))
    return list(provider.make_request("eth_getLogs", [params]) or [])
