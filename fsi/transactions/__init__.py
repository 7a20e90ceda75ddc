"""Every transaction module, imported so each registers its handlers in ``fsi.registry``."""
