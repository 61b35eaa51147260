"""Flow-run processes forked from a warm engine instead of started cold.

A process worker starts one Python process per flow run. Started cold, that process spends
about four seconds importing Prefect, the flows and the face models before the run's first
task, on every shoot. Here a long-lived *engine server* beside each worker has imported all of
that once; the worker's command is the small *client*, which asks the server for a fork, hands
it its environment, working directory and standard streams, forwards the worker's signals to
it, and exits with its status. Without a server the client becomes ``python -m prefect.engine``
itself, so a worker never depends on one.

The protocol (a Unix socket in a folder only our user can enter) is in :mod:`.wire`.
"""
