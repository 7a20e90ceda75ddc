"""Every transaction module, imported so each registers its handlers in ``fsi.registry``."""

from fsi.transactions import correction, outpatient, person, reconcile, signin  # noqa: F401
