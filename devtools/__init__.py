"""Development tools run as their own processes: stand-ins of the systems the service talks to."""
