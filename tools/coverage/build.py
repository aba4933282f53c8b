"""Compile contracts/ (Ape's settings) through the solc shim and decode what coverage needs."""

from __future__ import annotations

import bisect
import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tools.analysis.solc_input import ROOT, compiler_path, protocol_sources, standard_input

OUTPUTS = [
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.sourceMap",
    "evm.deployedBytecode.immutableReferences",
    "evm.bytecode.object",
    "evm.bytecode.sourceMap",
]


def compile_standard(inp: dict, root: Path = ROOT) -> dict:
    solc = compiler_path(root)
    proc = subprocess.run(
        [str(solc), "--standard-json", "--base-path", str(root)],
        input=json.dumps(inp), capture_output=True, text=True, cwd=root, check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"solc failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("solc errors:\n" + "\n".join(e.get("formattedMessage", str(e)) for e in errors))
    return out


def instruction_offsets(code: bytes) -> list[int]:
    """The pc of each instruction (PUSH data skipped), in order."""
    pcs, i, n = [], 0, len(code)
    while i < n:
        pcs.append(i)
        op = code[i]
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return pcs


def decode_sourcemap(smap: str) -> list[tuple[int, int, int, str]]:
    """solc's compressed source map -> (start, length, file index, jump) per instruction."""
    out, s, l, f, j = [], -1, -1, -1, "-"
    for item in smap.split(";"):
        parts = item.split(":")
        if len(parts) > 0 and parts[0] != "":
            s = int(parts[0])
        if len(parts) > 1 and parts[1] != "":
            l = int(parts[1])
        if len(parts) > 2 and parts[2] != "":
            f = int(parts[2])
        if len(parts) > 3 and parts[3] != "":
            j = parts[3]
        out.append((s, l, f, j))
    return out


@dataclass
class Code:
    """One contract's runtime (or creation) code with its pc -> source range map."""

    name: str
    source: str
    code: bytes
    masked: bytes  # immutables zeroed, for matching on-chain code
    immutables: list[tuple[int, int]]
    pcs: list[int]
    smap: list[tuple[int, int, int, str]]
    pc_index: dict[int, int] = field(default_factory=dict)

    def __post_init__(self):
        self.pc_index = {pc: i for i, pc in enumerate(self.pcs)}

    def matches(self, onchain: bytes) -> bool:
        if len(onchain) != len(self.code):
            return False
        if not self.immutables:
            return onchain == self.code
        b = bytearray(onchain)
        for start, length in self.immutables:
            b[start:start + length] = bytes(length)
        return bytes(b) == self.masked


@dataclass
class Build:
    sources: dict[str, dict]  # path -> {"id", "ast", "text", "line_starts"}
    by_id: dict[int, str]
    runtime: dict[str, Code]  # contract name -> runtime code
    creation: dict[str, Code]

    def line_of(self, path: str, offset: int) -> int:
        return bisect.bisect_right(self.sources[path]["line_starts"], offset)

    def identify(self, onchain: bytes) -> str | None:
        for name, code in self.runtime.items():
            if code.matches(onchain):
                return name
        return None


def _code(name: str, source: str, evm: dict) -> Code:
    code = bytes.fromhex(evm["object"])
    imm = [(r["start"], r["length"]) for refs in (evm.get("immutableReferences") or {}).values() for r in refs]
    return Code(name, source, code, code, imm, instruction_offsets(code), decode_sourcemap(evm.get("sourceMap", "")))


def build(root: Path = ROOT, extra_inline: dict[str, str] | None = None, sources: list[str] | None = None,
          cache: Path | None = None) -> Build:
    """Compile the current sources (or reuse `cache` when they are unchanged); the cache keeps the
    input too, so `load(cache)` gives the same Build later even if the sources were edited since."""
    inp = standard_input(protocol_sources(root) if sources is None else sources, outputs=OUTPUTS, root=root,
                         inline=extra_inline)
    digest = hashlib.sha256(json.dumps(inp, sort_keys=True).encode()).hexdigest()[:16]
    out = None
    if cache and cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("digest") == digest:
            out = saved["output"]
    if out is None:
        out = compile_standard(inp, root)
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"digest": digest, "input": inp, "output": out}))
    return _decode(inp, out, root)


def load(cache: Path, root: Path = ROOT) -> Build:
    saved = json.loads(cache.read_text())
    if "input" not in saved:  # an older cache: compile the current sources
        return build(root, cache=cache)
    return _decode(saved["input"], saved["output"], root)


def _decode(inp: dict, out: dict, root: Path) -> Build:
    srcs, by_id = {}, {}
    for path, info in out["sources"].items():
        if path in inp["sources"]:
            text = inp["sources"][path]["content"]
        else:
            text = (root / path).read_text() if (root / path).exists() else ""
        raw = text.encode()
        starts = [0] + [i + 1 for i, b in enumerate(raw) if b == 0x0A]
        srcs[path] = {"id": info["id"], "ast": info.get("ast"), "text": raw, "line_starts": starts}
        by_id[info["id"]] = path
    runtime, creation = {}, {}
    for path, contracts in out.get("contracts", {}).items():
        for name, c in contracts.items():
            evm = c.get("evm", {})
            if evm.get("deployedBytecode", {}).get("object"):
                runtime[name] = _code(name, path, evm["deployedBytecode"])
                creation[name] = _code(name, path, evm["bytecode"])
    return Build(srcs, by_id, runtime, creation)
