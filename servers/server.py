"""`servers.server:app`: the WSGI app built from the default (or $SURVEILLANCE_SERVER_CONFIG) config."""

from servers.app import create_app

app = create_app()
