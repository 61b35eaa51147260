"""The local production stack: PostgreSQL, Prefect server and workers, a Ray cluster, S3, mail."""
