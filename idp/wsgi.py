"""WSGI entry for production:

granian --interface wsgi --workers N --blocking-threads 1 idp.wsgi:app
"""

from idp.app import create_app

app = create_app()
