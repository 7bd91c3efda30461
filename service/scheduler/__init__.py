"""Scheduled jobs: the platform's periodic work, run exactly once per due slot across processes.

Schedules (``service.scheduler.schedules``): ``backup`` and ``retention_purge`` run inside the
workers; ``arxiv_poll`` runs in the poller process and only *reports* its rounds here. Every
worker runs a ``Scheduler`` loop that ticks every ``scheduler_tick_s`` and tries to claim each
due schedule with one Lua script (``service.scheduler.lua.CLAIM``): the script compares the
schedule's ``next_due_at`` with Redis's clock and, if due and no lease is held, takes the lease
(SET PX) and moves ``next_due_at`` on by one period, atomically. So however many workers tick,
one claims a slot and the others see it not due: no per-process timer decides anything.

The claiming worker runs the job itself rather than enqueueing it (docs/DESIGN.md, "Scheduled
jobs"): maintenance must not compete with clients for queue capacity (a backup matters most when
the queue is full or paused) nor change the queue figures clients and checks read. What a job
system would add is kept: a timeout, a retry after ``min(period, scheduler_retry_s)`` when a run
fails, a record per run (start, end, outcome, error, duration, next due) and log lines carrying
``schedule`` and ``run_id``. ``/health`` (``components.scheduler``) and ``/metrics``
(``platform_scheduled_job_*``) read those records.
"""
