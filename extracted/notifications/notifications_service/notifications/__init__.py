"""The notifications context, extracted: app label ``notifications`` (the monolith's tables).

models.py      Notification (the monolith's table, column for column), Contact (users'
               events: where to send), PendingFact (an order fact seen while not the writer)
templates.py   subject/body of each kind (the monolith's rules, copied: no shop imports)
sink.py        one file per notification id in the sink folder: delivered at most once
services.py    the writes: from order facts (writer) or the owner's NotificationSent (follower)
handlers.py    eventbus handlers of service "notifications"
views.py       GET /api/notifications (the monolith's contract)
"""
