"""Widgets of the vaultui app (Textual)."""
