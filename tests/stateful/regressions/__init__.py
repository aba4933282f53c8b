"""Falsifying examples the fuzzer found, one pytest file each (written by ringfence.fuzz.replay): every
file replays its steps on a fresh fuzz world on Anvil and fails while its bug is there."""
