"""The stack's data services: a private PostgreSQL cluster, moto's S3 server, the mail recorder."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from headpix.app.stack import procs
from headpix.app.stack.layout import BUCKET, PG_VERSION, StackLayout, StackState

DATABASES = ("headpix", "headpix_keys", "prefect")


def _ctl(cluster: str, *action: str) -> list[str]:
    return ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, cluster, *action]


def postgres_up(layout: StackLayout, state: StackState) -> None:
    """Create (first time) and start the stack's own cluster, then its databases."""
    cluster = state.pg_cluster or layout.pg_cluster_name
    state.pg_cluster = cluster
    port = state.ports["postgres"]
    conf = Path(f"/etc/postgresql/{PG_VERSION}/{cluster}")
    if not (conf / "postgresql.conf").is_file():
        procs.run(
            ["pg_createcluster", PG_VERSION, cluster, "-p", str(port), "--", "--auth=trust"],
            what=f"pg_createcluster {PG_VERSION} {cluster} (is postgresql-{PG_VERSION} installed?)",
        )
        # Loopback only; a test cluster may trade durability for speed.
        (conf / "conf.d" / "headpix-stack.conf").write_text(
            "listen_addresses = '127.0.0.1'\nmax_connections = 200\nfsync = off\n"
            "synchronous_commit = off\nfull_page_writes = off\n",
            encoding="utf-8",
        )
    if not procs.port_open(port):
        procs.run(_ctl(cluster, "start"), what=f"starting PostgreSQL cluster {cluster}")
    procs.wait_until(lambda: procs.port_open(port), timeout_s=30, what=f"PostgreSQL on 127.0.0.1:{port}")
    _create_databases(state)


def _create_databases(state: StackState) -> None:
    import psycopg

    url = f"host=127.0.0.1 port={state.ports['postgres']} user=postgres dbname=postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("select datname from pg_database")}
        for name in DATABASES:
            if name not in existing:
                conn.execute(f'CREATE DATABASE "{name}"')
    prefect = f"host=127.0.0.1 port={state.ports['postgres']} user=postgres dbname=prefect"
    with psycopg.connect(prefect, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def postgres_restart(state: StackState) -> None:
    """Restart the private cluster (fault tests); the shared server on 5432 is never touched."""
    procs.run(_ctl(state.pg_cluster, "restart", "-m", "fast"), what="restarting PostgreSQL")


def postgres_down(state: StackState) -> None:
    conf = Path(f"/etc/postgresql/{PG_VERSION}/{state.pg_cluster}")
    if state.pg_cluster and (conf / "postgresql.conf").is_file():
        procs.run(
            ["pg_dropcluster", "--stop", PG_VERSION, state.pg_cluster],
            what=f"pg_dropcluster {state.pg_cluster}",
        )
    if state.pg_cluster:
        shutil.rmtree(conf, ignore_errors=True)  # our conf.d file is not pg_dropcluster's to remove


def s3_up(layout: StackLayout, state: StackState, env: dict[str, str]) -> None:
    """moto's S3 server on loopback with a versioned bucket."""
    port = state.ports["s3"]
    moto = str(Path(sys.executable).with_name("moto_server"))
    state.pids["s3"] = procs.spawn([moto, "-H", "127.0.0.1", "-p", str(port)], log=layout.log("s3"), env=env)
    procs.wait_until(lambda: procs.port_open(port), timeout_s=30, what="moto S3 server", log=layout.log("s3"))
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="stack",
        aws_secret_access_key="stack-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    # The daily safety net production has too: old versions go after a day whatever happens.
    client.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "noncurrent-versions-1-day",
                    "Filter": {"Prefix": ""},
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )


def mail_up(layout: StackLayout, state: StackState, env: dict[str, str]) -> None:
    port = state.ports["mail"]
    command = [
        sys.executable,
        "-m",
        "headpix.app.stack.mailsink",
        "--port",
        str(port),
        "--file",
        str(layout.mail_file),
    ]
    state.pids["mail"] = procs.spawn(command, log=layout.log("mail"), env=env)
    procs.wait_until(
        lambda: procs.http_ok(f"http://127.0.0.1:{port}/health"),
        timeout_s=30,
        what="mail recorder",
        log=layout.log("mail"),
    )


def s3_faults_up(layout: StackLayout, state: StackState, env: dict[str, str]) -> None:
    """The fault-injecting proxy in front of moto (fault tests); it passes everything by default."""
    port = state.ports["s3faults"]
    command = [
        sys.executable,
        "-m",
        "headpix.app.stack.s3faults",
        "--port",
        str(port),
        "--upstream-port",
        str(state.ports["s3"]),
    ]
    state.pids["s3faults"] = procs.spawn(command, log=layout.log("s3faults"), env=env)
    procs.wait_until(
        lambda: procs.http_ok(f"http://127.0.0.1:{port}/control/stats"),
        timeout_s=30,
        what="S3 fault proxy",
        log=layout.log("s3faults"),
    )
