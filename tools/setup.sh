#!/usr/bin/env bash
# Idempotent set-up of everything Ringfence needs, from the package registries only:
#   npm packages (compiler, Anvil, Solidity libraries), a Python virtualenv with pinned
#   eth-ape and friends, the solc-js shim registered for py-solc-x, Anvil on the venv's PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
venv="${RINGFENCE_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# 1. npm: compilers, Anvil, Solidity dependencies (lockfile-exact).
npm_hash="$(sha256sum package.json package-lock.json | sha256sum | cut -c1-16)"
if ! stamp_ok node_modules/.ringfence-stamp "$npm_hash"; then
  echo "setup: npm ci"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$npm_hash" > node_modules/.ringfence-stamp
fi
chmod +x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil

# 2. Python virtualenv with pinned requirements.
py_hash="$(sha256sum requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)"
if ! stamp_ok "$venv/.ringfence-stamp" "$py_hash"; then
  echo "setup: python virtualenv at $venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -e .
  echo "$py_hash" > "$venv/.ringfence-stamp"
fi

# 3. The compiler: solc-js behind a native-looking shim, linked where py-solc-x looks.
mkdir -p .solcx
for v in 0.8.37 0.8.19; do ln -sfn ../tools/solc-shim.js ".solcx/solc-v$v"; done
chmod +x tools/solc-shim.js tools/anvil-wrapper.sh

# 4. Anvil on the venv's PATH (ape-foundry runs `which anvil`), pruning old states.
ln -sfn "$root/tools/anvil-wrapper.sh" "$venv/bin/anvil"

# 5. Plain `ape` from an activated venv finds the compiler too.
if ! grep -q SOLCX_BINARY_PATH "$venv/bin/activate"; then
  echo "export SOLCX_BINARY_PATH=\"$root/.solcx\"" >> "$venv/bin/activate"
fi
echo "setup: ready ($("$venv/bin/ape" --version 2>/dev/null | tail -n1), solc $(.solcx/solc-v0.8.37 --version | sed -n 's/^Version: //p'), $("$venv/bin/anvil" --version | head -n1))"
