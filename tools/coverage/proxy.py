"""A JSON-RPC proxy in front of Anvil that traces what the tests execute.

Every eth_sendRawTransaction / eth_sendTransaction (and their *Sync variants) is traced right after it is mined (before the next
request, so neither snapshot reverts nor `--prune-history` lose it), and every eth_call and
eth_estimateGas is replayed once with debug_traceCall (reverting calls included: a test that expects a
revert usually never sends the transaction, its estimate or call is what ran the code).

The tracer (below) records, per executed code, the set of program counters and the directions taken by
each JUMPI. Code is keyed by the address whose code runs (DELEGATECALL targets, not the proxy clones)
and resolved to its bytecode with eth_getCode; the address -> bytecode cache is dropped whenever the
chain can change code at a known address (evm_revert, anvil_reset, anvil_setCode, loadState).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ringfence.chain.rpc import call

# Key of the running frame: the top-level address (ctx.type tells CREATE at the end), else the `to` of
# the frame entered (for DELEGATECALL/CALLCODE that is the code's address). Creation frames are keyed
# "init:<address>" (initcode runs there). Per key: pcs {pc: 1}, and JUMPIs {2*pc + jumped: 1}.
TRACER = r"""{
  fr: [], top: null, cur: null, curJ: null, data: {}, jp: -1, bad: 0,
  _sel: function(key) {
    var e = this.data[key];
    if (!e) { e = this.data[key] = {p: {}, j: {}}; }
    this.cur = e.p; this.curJ = e.j;
  },
  enter: function(f) {
    var t = f.getType();
    var a = toHex(f.getTo());
    var key = (t == "CREATE" || t == "CREATE2") ? "init:" + a : a;
    this.fr.push(key); this.cur = null; this.jp = -1;
  },
  exit: function(r) { this.fr.pop(); this.cur = null; this.jp = -1; },
  step: function(log, db) {
    var pc = log.getPC();
    if (this.cur === null) {
      var d = log.getDepth();
      if (d == 1 || this.fr.length == 0) {
        if (this.top === null) this.top = "top";
        this._sel("top");
      } else {
        if (this.fr.length != d - 1) this.bad++;
        this._sel(this.fr[this.fr.length - 1]);
      }
    }
    if (this.jp >= 0) { this.curJ[this.jp * 2 + (pc == this.jp + 1 ? 0 : 1)] = 1; this.jp = -1; }
    this.cur[pc] = 1;
    if (log.op.toNumber() == 0x57) this.jp = pc;
  },
  fault: function(log, db) {},
  result: function(ctx, db) {
    var out = {};
    for (var k in this.data) {
      var key = k;
      if (k == "top") key = (ctx.type == "CREATE" || ctx.type == "CREATE2") ? "init:" + toHex(ctx.to) : toHex(ctx.to);
      var e = this.data[k], p = [], j = [];
      for (var x in e.p) p.push(+x);
      for (var y in e.j) j.push(+y);
      out[key] = {p: p, j: j};
    }
    return {hits: out, bad: this.bad};
  }
}"""

SEND = {"eth_sendRawTransaction", "eth_sendTransaction", "eth_sendTransactionSync", "eth_sendRawTransactionSync"}
CALLS = {"eth_call", "eth_estimateGas"}
INVALIDATE = {"evm_revert", "anvil_reset", "hardhat_reset", "anvil_setCode", "hardhat_setCode",
              "anvil_loadState", "anvil_revert"}


class Recorder:
    """pcs and JUMPI directions per distinct bytecode (sha256 of the code), runtime and creation."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.codes: dict[str, str] = {}  # code hash -> hex code
        self.runtime: dict[str, dict[str, set[int]]] = {}  # code hash -> {"p": pcs, "j": jumps}
        self.creation: dict[str, dict[str, set[int]]] = {}  # hash of the code it deployed -> ...
        self.addr_code: dict[str, str] = {}
        self.stats = {"traced_txs": 0, "traced_calls": 0, "trace_errors": 0, "frame_mismatch": 0,
                      "trace_seconds": 0.0}

    def rpc(self, method: str, params: list, timeout: float = 300):
        # a connection per call: the proxy's handler threads call this concurrently
        return call(self.upstream, method, *params, timeout=timeout)

    def code_hash(self, address: str, block: str = "latest") -> str | None:
        h = self.addr_code.get(address)
        if h is not None:
            return h
        code = self.rpc("eth_getCode", [address, block])
        if not code or code == "0x":
            return None
        h = hashlib.sha256(code.encode()).hexdigest()[:24]
        self.codes[h] = code
        self.addr_code[address] = h
        return h

    def add(self, result: dict) -> None:
        self.stats["frame_mismatch"] += int(result.get("bad", 0))
        for key, hit in result.get("hits", {}).items():
            if key.startswith("init:"):
                h = self.code_hash(key[5:])
                if h is None:
                    continue
                self.addr_code.pop(key[5:], None)  # may still change within the session (create2 reuse)
                slot = self.creation.setdefault(h, {"p": set(), "j": set()})
            else:
                h = self.code_hash(key)
                if h is None:
                    continue
                slot = self.runtime.setdefault(h, {"p": set(), "j": set()})
            slot["p"].update(hit["p"])
            slot["j"].update(hit["j"])

    def trace_tx(self, tx_hash: str) -> None:
        t0 = time.monotonic()
        try:
            for _ in range(400):  # anvil can answer before the block is sealed
                if self.rpc("eth_getTransactionReceipt", [tx_hash]):
                    break
                time.sleep(0.005)
            res = self.rpc("debug_traceTransaction", [tx_hash, {"tracer": TRACER}])
            with self.lock:
                self.add(res)
                self.stats["traced_txs"] += 1
        except Exception:  # noqa: BLE001 - a report, not a gate: count and go on
            self.stats["trace_errors"] += 1
        self.stats["trace_seconds"] += time.monotonic() - t0

    def trace_call(self, method: str, params: list) -> None:
        t0 = time.monotonic()
        try:
            tx = dict(params[0])
            block = params[1] if len(params) > 1 and params[1] is not None else "latest"
            if block == "pending":
                block = "latest"
            cfg: dict = {"tracer": TRACER}
            if method == "eth_call" and len(params) > 2 and params[2]:
                cfg["stateOverrides"] = params[2]
            res = self.rpc("debug_traceCall", [tx, block, cfg])
            with self.lock:
                self.add(res)
                self.stats["traced_calls"] += 1
        except Exception:  # noqa: BLE001 - as above
            self.stats["trace_errors"] += 1
        self.stats["trace_seconds"] += time.monotonic() - t0

    def handle(self, req: dict, resp: dict) -> None:
        method = req.get("method")
        if method in INVALIDATE:
            with self.lock:
                self.addr_code.clear()
        elif method in SEND and resp.get("result"):
            result = resp["result"]  # a hash, or the receipt for the *Sync variants
            self.trace_tx(result["transactionHash"] if isinstance(result, dict) else result)
        elif method in CALLS and req.get("params"):
            self.trace_call(method, req["params"])

    def dump(self) -> dict:
        with self.lock:
            return {
                "codes": self.codes,
                "runtime": {h: {"p": sorted(v["p"]), "j": sorted(v["j"])} for h, v in self.runtime.items()},
                "creation": {h: {"p": sorted(v["p"]), "j": sorted(v["j"])} for h, v in self.creation.items()},
                "stats": dict(self.stats),
            }


def serve(upstream: str, port: int, recorder: Recorder) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One write per response and no Nagle: headers and body sent apart stall each answer ~40 ms
        # (Nagle on this side, delayed ACK on the client's).
        disable_nagle_algorithm = True
        wbufsize = 1 << 16

        def log_message(self, *a):  # quiet
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            # forwarded as bytes (batches included) with the node's HTTP status: not one JSON-RPC call
            up = urllib.request.Request(upstream, body, {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(up, timeout=600) as r:
                    data = r.read()
                    status = r.status
            except urllib.error.HTTPError as e:
                data, status = e.read(), e.code
            try:
                reqs, resps = json.loads(body), json.loads(data)
                if isinstance(reqs, dict):
                    reqs, resps = [reqs], [resps]
                by_id = {r.get("id"): r for r in resps if isinstance(r, dict)}
                for q in reqs:
                    if isinstance(q, dict) and q.get("method") in (SEND | CALLS | INVALIDATE):
                        recorder.handle(q, by_id.get(q.get("id"), {}))
            except Exception:  # noqa: BLE001 - the answer is forwarded whatever the recorder makes of it
                recorder.stats["trace_errors"] += 1
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
