"""Contract coverage for Ringfence from Anvil traces and solc source maps.

`make coverage` -> `python -m tools.coverage run <tests>`: starts an Anvil behind a JSON-RPC proxy that
traces every transaction, eth_call and eth_estimateGas with a small JS tracer (program counters per
executed code, JUMPI directions), runs the tests against it, then maps the pcs through the source maps
of a standard-JSON compilation with Ape's settings to statements, lines and branches of contracts/.
"""
