"""The app's speed tricks, kept in one place.

- :mod:`~vaultui.fast.prompt_frame`: a screen whose next frame is composed as soon as a
  keystroke's updates are in, and work that runs strictly after that frame;
- :mod:`~vaultui.fast.scroll_view`: a Line-API scroll view that skips the styles cache,
  takes a new row count without a screen layout, and uses
  :mod:`~vaultui.fast.quick_scrollbar` (a scrollbar drawn without Rich);
- :mod:`~vaultui.fast.typing_gc`: the cyclic collector held off while the user types.

Every private Textual member a trick uses is declared in :mod:`~vaultui.fast.internals`
and probed on first use; a trick whose members differ on the installed Textual takes
the public path instead.
"""
