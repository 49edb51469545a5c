"""Who writes a context's data: one writer per context, always.

Every database that holds a copy of a context (the monolith's, the extracted service's) has one
``Ownership`` row per context saying which side writes it (``monolith`` or ``service``) and
whether writes are frozen for a handover. The stage verbs move ownership; the code that writes
asks first (:func:`services.require_writer`, inside its transaction) and the code that follows
events asks whether it is the writer (:func:`services.is_writer`) before applying them.
"""
