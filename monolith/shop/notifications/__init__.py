"""notifications: messages about a user's orders, recorded and delivered to a local sink.

models.py      Notification: one message; unique per (user, kind, reference)
templates.py   subject/body per kind, rendered from a small context
sink.py        where delivered messages go: "file:<path>" (JSON lines) or "console"
services.py    notification_send (inside the caller's transaction), notifications_redeliver
selectors.py   notifications_of_user

caller's tx: notification_send -> row (queued) ... commit -> on_commit: sink -> delivered
                                                rollback -> nothing recorded, nothing sent
"""
