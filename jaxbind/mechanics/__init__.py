"""jaxbind.mechanics."""
