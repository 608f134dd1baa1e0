"""The jobs core: one scheduler, one schedule grammar, claims that hold across servers, retries with
backoff, run history, and one outbox for everything sent outside.

Entry points: `service` (plan, run_due, run_now, listing, history), `kinds` (declare a job kind),
`schedule` (the grammar), `scheduler` (the server's thread), `outbox` (declare a channel, enqueue,
deliver). The injectable clock and executor are the core's (`threshold.runtime`). See docs/architecture.md.
"""
