"""Screens and dialogs of the vaultui app (Textual)."""
