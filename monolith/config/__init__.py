"""Django project configuration for the monolith (settings, URLs, WSGI/ASGI entry points)."""
