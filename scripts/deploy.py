"""`ape run deploy --network <choice> --markets markets/<file>.yaml`: deploy Ringfence and its markets.

Idempotent: a second run reads deployments/<ecosystem>-<network>.json and deploys only what is
missing. On a chain that ends with the command (the embedded chain, or the Anvil that
``ethereum:local:foundry`` starts) it warns and records nothing unless --deployments is given: the
chain that stays up is the devnet, `make devnet`. On a live network (not local, not a fork) every transaction is confirmed first unless
--yes is given. The logic is in ringfence/deploy/; the deployments file in
ringfence/chain/deployments.py.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click
from ape.cli import account_option, skip_confirmation_option

from ringfence.chain.connection import ChainCommand
from ringfence.chain.deployments import DeployError, default_deployments_path, is_live
from ringfence.deploy import DeployChecksFailed, deploy, load_markets
from ringfence.errors import RingfenceError, one_line


@click.command(cls=ChainCommand, short_help="Deploy Ringfence and the markets of a file")
@click.option("--markets", "markets_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The markets file (YAML, human units), e.g. markets/local.yaml")
@click.option("--deployments", "deployments_file", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The deployments file to read and write "
                   "[default: <deployments-dir>/<ecosystem>-<network>.json]")
@click.option("--deployments-dir", default=Path("deployments"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--create2/--no-create2", "create2", default=None,
              help="CREATE2 through the deterministic-deployment proxy [default: where it exists]")
@account_option(prompt=False)
@skip_confirmation_option("Do not ask before each transaction on a live network")
def cli(provider, markets_file, deployments_file, deployments_dir, create2, account,
        skip_confirmation):
    from ape import accounts  # lazily: ape's managers load every Ape plugin when first imported

    try:
        spec = load_markets(markets_file)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    live = is_live(provider)
    if account is None:
        if live:
            raise click.UsageError("--account <alias> is required on a live network")
        account = accounts.test_accounts[0]
    path = deployments_file or default_deployments_path(provider, deployments_dir)
    scratch = None
    if _throwaway_chain(provider) and deployments_file is None and deployments_dir == Path("deployments"):
        # A record of contracts on a chain that is gone when this command ends would point at nothing
        # (and replace the devnet's record of the same network).
        scratch = Path(tempfile.mkdtemp(prefix="ringfence-deploy-"))
        path = scratch / path.name
        click.echo(f"warning: {provider.network.choice} is a chain that ends with this command: a "
                   f"throwaway deployment, not recorded in {deployments_dir}/; for a chain that stays "
                   f"up run `make devnet`", err=True)
    click.echo(f"Deploying {markets_file} to {provider.network.choice} (chain id {provider.chain_id}) "
               f"from {account.address}; record: {path}")

    def confirm(description: str) -> bool:
        if not live or skip_confirmation:
            return True
        return click.confirm(f"{description}?", default=False)

    try:
        report = deploy(account, spec, path=path, confirm=confirm, log=click.echo,
                        use_create2=create2)
    except DeployChecksFailed as exc:
        *first, last = exc.problems
        for problem in first:
            click.echo(f"Error: {problem}", err=True)
        if first:
            last += f" ({len(exc.problems)} problems in {markets_file}: nothing was sent)"
        raise click.ClickException(last) from None
    except (DeployError, RingfenceError) as exc:
        message = exc.message if isinstance(exc, RingfenceError) else str(exc)
        raise click.ClickException(one_line(message)) from None
    factory = report.data["contracts"]["PoolFactory"]["address"]
    click.echo(f"{len(report.sent)} transaction(s) sent; factory {factory}")
    for market_id, market in report.data["markets"].items():
        click.echo(f"  {market_id}: pool {market['pool']} (asset {market['asset']}, "
                   f"oracle {market['oracle']['address']})")
    if scratch is None:
        click.echo(f"Wrote {path}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
        click.echo("Nothing recorded: the chain ends with this command")


def _throwaway_chain(provider) -> bool:
    """The embedded chain, or an Anvil that ape-foundry started for this command (``--network
    ethereum:local:foundry``): either ends with the process."""
    if provider.name == "test":
        return True
    return provider.name == "foundry" and getattr(provider, "process", None) is not None \
        and not provider.network.name.endswith("-fork")
