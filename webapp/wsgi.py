"""The app a server runs: serverless-wsgi on Lambda (`custom.wsgi.app` in serverless.yml)
and gunicorn (`webapp.wsgi:app`). Importing it reads the environment."""

from webapp import create_app

app = create_app()
