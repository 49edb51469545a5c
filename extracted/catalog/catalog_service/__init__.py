"""The extracted catalog service: a Django project (settings, urls, wsgi) around the
``catalog`` app. Start it as the stage verbs do: ``python manage.py migrate --no-input`` then
``python -m gunicorn -c gunicorn.conf.py`` from extracted/catalog (see README.md)."""
