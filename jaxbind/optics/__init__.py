"""jaxbind.optics."""
