"""notifications: messages about a user's orders, recorded and delivered to a local sink.

models.py      Notification: one message; unique per (user, kind, reference)
               PendingFact: a fact seen while the monolith did not write notifications
templates.py   subject/body per kind, rendered from a small context
sink.py        where delivered messages go: "file:<path>" (JSON lines) or "console"
services.py    notification_send (inside the caller's transaction), notifications_redeliver,
               pending_flush (manage.py notifications_flush, run after a flip)
selectors.py   notifications_of_user, pending_count

caller's tx: notification_send -> row (queued) ... commit -> on_commit: sink -> delivered
                                                rollback -> nothing recorded, nothing sent
"""
