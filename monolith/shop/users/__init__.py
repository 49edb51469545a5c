"""users: accounts, passwords (Django's hashers), JWT issuing (RS256, JWKS, rotation), profiles.

keys.py            the signing keys on disk: load, generate, rotate; the JWKS document
tokens.py          issue access/refresh pairs; verify (contracts.tokens) + revocation
authentication.py  DRF authentication: Bearer token -> shop.common.auth.Principal
services.py        register, login, refresh, logout, profile_update, staff_ensure
selectors.py       user_get, user_contact
"""
