"""vaultui's core library: the vault file, providers, sync, rotation, audit and backup.

Importable without Textual or any provider SDK; ``vaultui`` (the app and CLI) is a thin
layer on top of it.
"""
