"""jaxbind.workflows."""
