"""Django-free contracts shared by the monolith, the extracted services and the proxy.

    contracts.problems   the one API error shape (RFC 9457 problem+json) and its stable codes
    contracts.tokens     JWT claims and verification against a JWKS (issuer: the users context)
    contracts.ids        deterministic ids (notifications) so both sides of a handover agree

Nothing here imports Django: a service that leaves the monolith keeps the same contracts.
"""
