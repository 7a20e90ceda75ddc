"""Every transaction module, imported so each registers its handlers in ``fsi.registry``."""

from fsi.transactions import correction, person, reconcile, signin  # noqa: F401
