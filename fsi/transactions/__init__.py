"""Every transaction module, imported so each registers its handlers in ``fsi.registry``."""

from fsi.transactions import (  # noqa: F401
    correction,
    inpatient,
    outpatient,
    person,
    reconcile,
    signin,
)
