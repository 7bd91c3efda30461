"""The job system: queues on Redis Streams, the Lua that changes a job's state atomically, the
worker process that runs jobs, and what keeps it honest (recovery, heartbeats, integrity).

`queue` is the API's face of it, `worker` the worker's; `lua` holds every state change, so that no
job is lost or run twice whatever process dies between two steps.
"""
