"""jaxbind.quantum."""
