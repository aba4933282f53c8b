"""Chain plumbing shared by every feature package: the JSON-RPC transport, the Anvil launcher and the
deployments file. Feature packages (sdk, cli, keeper, sim, fuzz, bench) depend on this package, never
on each other's internals."""
