"""Outgoing e-mail: messages rendered in each recipient's language and sent by tasks, never in a request.

`ciclo.mail.sending.send` queues them; `ciclo.mail.tasks.deliver` sends one.
"""
