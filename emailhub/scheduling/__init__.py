"""Sending later: `send_at` and `expires_at` on an email, cancelling and
rescheduling it, and the scheduler tick that hands due emails to the outbox.

- timing.py ..... reading and checking send_at / expires_at (the API's rules)
- changes.py .... email_cancel, email_reschedule (conditional writes)
- ticks.py ...... scheduler_tick: the minute buckets of the schedule-index

An email due within SQS's 15-minute delay goes on the outbox at once with that
delay; a later one waits in the schedule-index (see emailhub/model.py) for the
tick. Either way it stays `scheduled` until a worker claims it, and the claim
is conditional on `send_at` having come (services.email_deliver), so a late
or early message can never send it before its time, nor after a cancel.
"""
