"""The notifications service's settings: servicekit's shape from ``NOTIFICATIONS_*``, plus

NOTIFICATIONS_SINK   folder of delivered messages, one file per notification id
                     (default <var>/sink; "console" logs them instead)
"""

from __future__ import annotations

from servicekit.settings import ServiceEnv, service_settings

CONTEXT = "notifications"
_env = ServiceEnv(CONTEXT)

globals().update(
    service_settings(
        CONTEXT,
        apps=["notifications_service.notifications"],
        urlconf="notifications_service.urls",
        wsgi="notifications_service.wsgi.application",
        # Orders' events and declined payments make notifications (while this service writes
        # them); the monolith's notification.sent events keep the copy current (while it
        # follows); users' events keep the contacts (email, name) messages are addressed to.
        subscriptions={
            CONTEXT: [
                "orders.order.*",
                "payments.payment.declined",
                "notifications.notification.sent",
                "users.user.*",
            ]
        },
        handlers={CONTEXT: ["notifications_service.notifications.handlers"]},
        title="Strangler kit notifications service",
    )
)

NOTIFICATIONS_SINK = _env.text("SINK", str(globals()["VAR_DIR"] / "sink"))
