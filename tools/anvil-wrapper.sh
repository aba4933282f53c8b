#!/usr/bin/env bash
# Anvil as ape-foundry starts it, plus --prune-history so long runs do not keep
# every old state on disk (ape-foundry has no setting for extra flags).
# RINGFENCE_ANVIL_STEPS_TRACING=0 drops ape-foundry's --steps-tracing: Anvil then keeps no opcode trace of
# every transaction in memory (Ape cannot show a failed transaction's trace); `make bench-keeper` sets it,
# its 5,000 vaults and their liquidations took Anvil past 23 GB with the traces.
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
real="$here/../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
[ -x "$real" ] || real="$(ls "$here"/../node_modules/@foundry-rs/anvil-linux-amd64/*/anvil 2>/dev/null | head -n1)"
case " $* " in
  *" --version "*|*" -V "*) exec "$real" "$@" ;;
esac
if [ "${RINGFENCE_ANVIL_STEPS_TRACING:-1}" = 0 ]; then
  args=()
  for arg in "$@"; do [ "$arg" = --steps-tracing ] || args+=("$arg"); done
  set -- "${args[@]}"
fi
exec "$real" --prune-history 64 "$@"
