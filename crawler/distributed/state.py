"""Kept for imports: the deferred state is ``archive.state.deferred`` (both modes)."""

from archive.state.deferred import DeferredState

__all__ = ["DeferredState"]
