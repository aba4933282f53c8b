#!/usr/bin/env bash
# Slither in its own virtualenv (.venv-slither, pinned by tools/slither-requirements.txt, PyPI only),
# over contracts/ through the solc-js shim, checked against slither.triage.json.
#   tools/analysis/slither.sh            check (exit 1 on an untriaged High/Medium finding)
#   tools/analysis/slither.sh --update   refresh slither.triage.json + docs/slither-triage.md
# Exit 4: the virtualenv could not be built (e.g. no registry); 3: slither itself failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${SLITHER_VENV:-$PWD/.venv-slither}"
python="${PYTHON:-python3}"
req=tools/slither-requirements.txt
hash="$(sha256sum "$req" | cut -c1-16)"
if ! { [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$hash" ]; }; then
  echo "slither: building $venv" >&2
  if ! { { [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"; } \
         && "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" > "$venv.log" 2>&1; }; then
    grep -v "^WARNING: Location" "$venv.log" >&2 || true
    echo "slither: could not build $venv" >&2
    exit 4
  fi
  echo "$hash" > "$venv/.stamp"
fi
# The compiler shim must be linked (tools/setup.sh does it; cheap to repeat).
mkdir -p .solcx
ln -sfn ../tools/solc-shim.js .solcx/solc-v0.8.37
[ -d node_modules/solc ] || { echo "slither: node_modules/solc missing (run make install)" >&2; exit 4; }
exec "$venv/bin/python" tools/analysis/slither_check.py --slither "$venv/bin/slither" "$@"
