"""Peer harnesses the benchmarks compare vaultui with, measured in the same run.

- :mod:`tests.bench.peers.seed_design`: the seed's own storage design (a Fernet file per
  secret, PBKDF2 key, a JSON metadata file rewritten on every write).
- :mod:`tests.bench.peers.keepassxc`: KeePassXC's ``keepassxc-cli`` on KDBX 4 files with
  the same Argon2id cost as the vault.
"""
