#!/usr/bin/env bash
# Anvil as ape-foundry starts it, plus --prune-history so long runs do not keep
# every old state on disk (ape-foundry has no setting for extra flags).
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
real="$here/../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
[ -x "$real" ] || real="$(ls "$here"/../node_modules/@foundry-rs/anvil-linux-amd64/*/anvil 2>/dev/null | head -n1)"
case " $* " in
  *" --version "*|*" -V "*) exec "$real" "$@" ;;
esac
exec "$real" --prune-history 64 "$@"
