"""`ape run demo`: deploy a market on the local chain and show a few isolated positions."""

from ape import accounts, project

from ringfence.demo import run_demo


def main() -> None:
    run_demo(accounts.test_accounts, project)
