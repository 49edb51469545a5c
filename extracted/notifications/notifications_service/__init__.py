"""The extracted notifications service (Django project + the notifications app)."""
