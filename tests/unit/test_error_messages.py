"""One text per error: the ``@notice`` of each error declared in ``interfaces/*.sol`` is its message to
users, a template whose ``{placeholder}`` names one of the error's parameters, and
:mod:`ringfence.errors` serves exactly that text (read from the compiled userdoc). Every event and
function of the interfaces has a ``@notice`` too.

Pure Python over the compiled artifacts (Ape's project, the source :mod:`ringfence.errors` reads the
ABIs and notices from) and the interface sources; no chain. After editing an interface: ``make compile``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from string import Formatter
from typing import Any

import pytest

from ringfence.errors import (
    MESSAGES,
    THIRD_PARTY_MESSAGES,
    error_class,
    render,
    use_contract_types,
    userdoc_messages,
)

ROOT = Path(__file__).resolve().parents[2]
INTERFACES = sorted((ROOT / "interfaces").glob("*.sol"))
TEST_SOURCES = "contracts/test/"


@dataclass(frozen=True)
class Documented:
    """One error or event as documented somewhere: its parameters' names and its notice."""

    kind: str  # "error" or "event"
    name: str
    params: tuple[str, ...]
    notice: str | None
    where: str
    contract: str = ""  # the compiled contract whose userdoc it was read from


def problems(items: list[Documented]) -> list[str]:
    """What is wrong with the documentation of ``items``: a missing notice, or (errors) a notice that
    is no valid template or has a ``{placeholder}`` that is not one of the error's parameters."""
    found = []
    for item in items:
        if not item.notice:
            found.append(f"{item.where}: {item.kind} {item.name} has no @notice")
            continue
        if item.kind != "error":
            continue
        try:
            fields = [field for _, field, _, _ in Formatter().parse(item.notice) if field is not None]
        except ValueError as exc:
            found.append(f"{item.where}: the notice of {item.name} is no valid template ({exc})")
            continue
        for field in fields:
            if field not in item.params:
                found.append(f"{item.where}: {{{field}}} in the notice of {item.name} is not one of its "
                             f"parameters {item.params}")
    return found


# ----------------------------------------------------------------------------- the interfaces' sources

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_DECLARATION = re.compile(r"\b(error|event)\s+(\w+)\s*\(([^)]*)\)\s*;")
_FUNCTION = re.compile(r"^\s*function\s+(\w+)\s*\(")


def declarations(source: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The errors and events ``source`` declares: (kind, name, parameter names)."""
    found = []
    for kind, name, params in _DECLARATION.findall(_COMMENTS.sub("", source)):
        names = tuple(param.split()[-1] for param in params.split(",") if len(param.split()) > 1)
        found.append((kind, name, names))
    return found


def undocumented_functions(source: str) -> list[str]:
    """The functions of ``source`` whose NatSpec block (the ``///`` lines right above) has no notice."""
    lines = source.splitlines()
    missing = []
    for number, line in enumerate(lines):
        match = _FUNCTION.match(line)
        if not match:
            continue
        block = []
        above = number - 1
        while above >= 0 and lines[above].strip().startswith("///"):
            block.append(lines[above].strip()[3:].strip())
            above -= 1
        if not any(text.startswith("@notice") for text in block):
            missing.append(match.group(1))
    return missing


# ----------------------------------------------------------------------------- the compiled artifacts


@pytest.fixture(scope="module")
def contract_types() -> list[Any]:
    from ape import project

    return list(project.contracts.values())


def _notice(contract_type: Any, kind: str, signature: str) -> str | None:
    docs = ((contract_type.userdoc or {}).get(f"{kind}s") or {}).get(signature)
    if kind == "error":  # a list: one entry per declaration of that signature
        notices = [doc.get("notice") for doc in docs or [] if doc.get("notice")]
        return " ".join(notices[0].split()) if notices else None
    return " ".join(docs["notice"].split()) if docs and docs.get("notice") else None


def compiled(contract_types: list[Any], kind: str, name: str, params: tuple[str, ...] | None = None,
             where: str = "") -> list[Documented]:
    """The error or event ``name`` (with parameters ``params``, if given) as documented in the userdoc
    of every compiled contract whose ABI has it."""
    items = []
    for contract_type in contract_types:
        for entry in contract_type.abi:
            if entry.type != kind or entry.name != name:
                continue
            names = tuple(i.name or "" for i in entry.inputs)
            if params is not None and names != params:
                continue
            items.append(Documented(kind, name, names, _notice(contract_type, kind, entry.selector),
                                    f"{where}{name} in {contract_type.name}'s userdoc",
                                    str(contract_type.name)))
    return items


def interface_items(contract_types: list[Any]) -> tuple[list[Documented], list[str]]:
    """Every error and event of ``interfaces/*.sol`` as compiled, and the declarations no compiled
    contract has in its ABI (so their notices cannot be read)."""
    items, absent = [], []
    for path in INTERFACES:
        for kind, name, params in declarations(path.read_text()):
            found = compiled(contract_types, kind, name, params, where=f"{path.name}: ")
            if not found:
                absent.append(f"{path.name}: {kind} {name}{params}")
            items.extend(found)
    return items, absent


# ----------------------------------------------------------------------------- the checks


def test_the_interfaces_are_all_read():
    names = {path.name for path in INTERFACES}
    assert {"IMarginPool.sol", "IPoolFactory.sol", "IChainlinkOracle.sol", "ILiquidator.sol"} <= names
    assert len(declarations((ROOT / "interfaces" / "IMarginPool.sol").read_text())) >= 40


def test_every_interface_error_and_event_has_a_notice_with_valid_placeholders(contract_types):
    items, absent = interface_items(contract_types)
    assert not absent, f"declared but in no compiled contract's ABI (make compile?): {absent}"
    assert not problems(items), "\n".join(problems(items))


# Contracts (outside interfaces/) that declare an error of an interface's name and parameters with a
# notice of their own: one selector, so ringfence.errors serves one text (the interface's) for both.
_OWN_NOTICES: set[tuple[str, str]] = set()


def test_one_text_per_error(contract_types):
    """Errors of one name share a selector (when their types match) and one message: every contract
    documents an interface error with the same notice, and ringfence.errors serves it."""
    items, _ = interface_items(contract_types)
    errors = [item for item in items if item.kind == "error"]
    assert errors
    served = userdoc_messages(contract_types)
    own = set()
    for item in errors:
        if item.notice != served[item.name] and (item.name, item.contract) in _OWN_NOTICES:
            own.add((item.name, item.contract))
            continue
        assert item.notice == served[item.name], f"{item.where}: {item.notice!r} vs {served[item.name]!r}"
        assert MESSAGES[item.name] == item.notice
        assert item.name not in THIRD_PARTY_MESSAGES, f"{item.name} is ours: its message is its @notice"
    assert own == _OWN_NOTICES, "an exception that no longer applies: drop it from _OWN_NOTICES"


def test_every_interface_function_has_a_notice():
    missing = {path.name: undocumented_functions(path.read_text()) for path in INTERFACES}
    assert not {name: functions for name, functions in missing.items() if functions}


def test_third_party_messages_name_the_errors_parameters(contract_types):
    items = [item for name in THIRD_PARTY_MESSAGES for item in compiled(contract_types, "error", name)]
    assert {item.name for item in items} == set(THIRD_PARTY_MESSAGES), "a message for no compiled error"
    items = [replace(item, notice=THIRD_PARTY_MESSAGES[item.name], where="THIRD_PARTY_MESSAGES: ")
             for item in items]
    assert not problems(items), "\n".join(problems(items))


def test_messages_are_filled_with_the_arguments():
    assert render("StalePrice", {"updatedAt": 1_700_000_000, "maxAge": 3600}) == \
        "oracle price is stale: updated at 1700000000, older than the 3600s bound"
    assert render("MarketPaused", {}) == \
        "the market is paused for opening (adding margin and closing still work)"
    assert render("NoSuchError", {"a": 1, "b": b"x"}) == "NoSuchError(a=1, b=x)"
    assert render("StalePrice", {"updatedAt": 1}) == "StalePrice(updatedAt=1)"  # arguments lost
    with pytest.raises(TypeError):
        MESSAGES["StalePrice"] = "read-only"  # type: ignore[index]


def test_the_notices_come_from_the_contract_types_in_use():
    """MESSAGES follows the source of contract types (use_contract_types), test doubles excluded."""
    from types import SimpleNamespace

    def fake(name: str, source_id: str, notice: str) -> Any:
        return SimpleNamespace(name=name, source_id=source_id, abi=[],
                               userdoc={"errors": {"StalePrice(uint256,uint256)": [{"notice": notice}]}})

    try:
        use_contract_types(lambda: [fake("Mock", "contracts/test/Mock.sol", "a double's {maxAge}"),
                                    fake("Oracle", "contracts/Oracle.sol", "stale:\n    {maxAge}s")])
        assert MESSAGES["StalePrice"] == "stale: {maxAge}s"  # continuation indentation collapsed
        error = error_class("StalePrice")({"updatedAt": 1, "maxAge": 60})
        assert error.message == str(error) == "stale: 60s"
        assert MESSAGES["ReentrancyGuardReentrantCall"] == "re-entrant call refused"
    finally:
        use_contract_types(None)
    assert MESSAGES["StalePrice"].startswith("oracle price is stale")


# ----------------------------------------------------------------------------- canaries


def test_canary_a_broken_notice_is_caught(contract_types):
    """A placeholder that is not a parameter, a malformed template and a missing notice, planted in
    the compiled documentation (here, not in the sources), are each caught by the same check."""
    items, _ = interface_items(contract_types)
    assert not problems(items)
    index = next(n for n, item in enumerate(items) if item.kind == "error" and item.name == "StalePrice")
    stale = items[index]

    typo = replace(stale, notice="oracle price is stale: updated at {updatedAt}, older than {maxAgeSeconds}s")
    expected = (f"{stale.where}: {{maxAgeSeconds}} in the notice of StalePrice is not one of its "
                "parameters ('updatedAt', 'maxAge')")
    assert problems([*items[:index], typo, *items[index + 1:]]) == [expected]

    malformed = replace(stale, notice="oracle price is stale: updated at {updatedAt")
    assert len(problems([*items, malformed])) == 1
    assert "no valid template" in problems([malformed])[0]

    event = next(item for item in items if item.kind == "event")
    assert problems([*items, replace(event, notice=None)]) == [f"{event.where}: event {event.name} has no @notice"]
    assert problems([replace(stale, notice="")]) == [f"{stale.where}: error StalePrice has no @notice"]


def test_canary_an_undocumented_declaration_is_caught():
    source = """interface IBroken {
        /// @notice fine {amount}
        error Fine(uint256 amount);
        error Bare(address vault, uint256 amount);
        event Moved(address indexed from, uint256 amount);
        // a plain comment is no NatSpec
        function bare() external view returns (uint256);
        /// @notice Documented.
        function documented(
            address who
        ) external;
    }"""
    assert declarations(source) == [("error", "Fine", ("amount",)), ("error", "Bare", ("vault", "amount")),
                                    ("event", "Moved", ("from", "amount"))]
    assert undocumented_functions(source) == ["bare"]
