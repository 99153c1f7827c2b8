"""The Celery app: configuration from the environment, the shipped schedules, /readyz, RabbitMQ."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from flashlearn.celery import app
from flashlearn.tests.live import manage, project_env
from flashlearn.tests.taskqueue import CeleryWorker, celery_conf, port_open, wait_for

SHOW_CONF = (
    "from flashlearn.celery import app; import json; c = app.conf; print(json.dumps({"
    "'broker': c.broker_url, 'eager': c.task_always_eager, 'propagates': c.task_eager_propagates, "
    "'serializer': c.task_serializer, 'accept': c.accept_content, "
    "'prefix': c.broker_transport_options.get('global_keyprefix')}))"
)


def conf_under(**env: str) -> dict:
    result = manage("shell", "-c", SHOW_CONF, env=project_env(DEBUG="true", SECRET_KEY="x" * 50, **env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_broker_comes_from_the_environment():
    embedded = conf_under()
    redis = conf_under(REDIS_URL="redis://127.0.0.1:6379/3", REDIS_PREFIX="shop")
    rabbit = conf_under(REDIS_URL="redis://127.0.0.1:6379/3", CELERY_BROKER_URL="amqp://guest:guest@mq:5672//")

    # No broker: tasks run inline where they are queued, and their errors reach the caller.
    assert embedded["eager"] is True and embedded["propagates"] is True
    assert redis == {"broker": "redis://127.0.0.1:6379/3", "eager": False, "propagates": True,
                     "serializer": "json", "accept": ["json"], "prefix": "shop:celery:"}
    assert rabbit["broker"] == "amqp://guest:guest@mq:5672//" and rabbit["eager"] is False
    assert rabbit["prefix"] is None


def test_every_task_has_time_limits_and_only_safe_ones_are_acknowledged_late():
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}

    assert {"calendars.connection_sync", "calendars.reauth_email_send", "creators.analyze_chunk",
            "accounts.auth_events_prune"} <= set(ours)
    for name, task in ours.items():
        assert task.time_limit and task.soft_time_limit and task.soft_time_limit < task.time_limit, name
    late = {name for name, task in ours.items() if task.acks_late}
    # each is safe to run twice
    assert late == {"calendars.connection_sync", "calendars.google_disconnect", "creators.analyze_chunk"}
    assert all(ours[name].reject_on_worker_lost for name in late)
    assert ours["calendars.reauth_email_send"].acks_late is False  # an email must not go out twice


@pytest.mark.django_db
def test_setup_schedules_is_idempotent_and_keeps_operator_edits():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    def run(*args) -> str:
        out = StringIO()
        call_command("setup_schedules", *args, stdout=out)
        return out.getvalue()

    first = run()
    sync_due = PeriodicTask.objects.get(task="calendars.sync_due")
    sync_due.interval = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    sync_due.save()
    second = run()

    assert first.count("created: ") == 4 and second.count("kept: ") == 4
    assert sorted(PeriodicTask.objects.values_list("task", flat=True)) == [
        "accounts.auth_events_prune", "calendars.channels_renew", "calendars.oauth_states_prune",
        "calendars.sync_due"]
    assert PeriodicTask.objects.get(task="calendars.sync_due").interval.every == 300
    assert sync_due.expire_seconds == 600
    assert "reset: calendars: queue due syncs" in run("--reset")
    assert PeriodicTask.objects.get(task="calendars.sync_due").interval.every == 600


@pytest.mark.django_db
def test_auth_events_prune_task_keeps_the_retention_window(settings):
    from accounts.models import AuthEvent
    from accounts.tasks import auth_events_prune

    settings.AUTH_EVENT_RETENTION_DAYS = 30
    AuthEvent.objects.create(kind="login_failed", created_at=timezone.now() - timedelta(days=31))
    AuthEvent.objects.create(kind="login_failed", created_at=timezone.now() - timedelta(days=29))

    auth_events_prune.delay()

    assert AuthEvent.objects.count() == 1


@pytest.mark.django_db
def test_readyz_reports_the_broker_without_failing_when_there_is_none(client):
    eager = client.get("/readyz").json()["checks"]["broker"]
    with celery_conf(task_always_eager=False, broker_url="redis://127.0.0.1:9/0"):
        down = client.get("/readyz")

    assert eager == {"ok": True, "backend": "eager"}
    assert down.status_code == 503 and down.json()["checks"]["broker"]["ok"] is False
    assert down.json()["checks"]["broker"]["backend"] == "redis"


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_reaches_the_redis_broker(client, settings):
    with celery_conf(task_always_eager=False, broker_url=settings.REDIS_URL):
        assert client.get("/readyz").json()["checks"]["broker"] == {"ok": True, "backend": "redis"}


RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rabbitmq_broker_runs_a_task_in_a_worker(user, tmp_path):
    if not port_open("127.0.0.1", 5672):
        pytest.skip("RabbitMQ is not listening on 127.0.0.1:5672")
    from calendars import tasks
    from calendars.models import OAuthState

    OAuthState.objects.create(nonce="old", user=user, code_verifier_encrypted="x",
                              expires_at=timezone.now() - timedelta(days=1))
    queue = f"flashlearn-test-{uuid.uuid4().hex[:12]}"  # parallel runs share this RabbitMQ
    worker = CeleryWorker(log=tmp_path / "worker.log", broker_url=RABBITMQ, CELERY_QUEUE=queue).start()
    try:
        with celery_conf(task_always_eager=False, broker_url=RABBITMQ):
            tasks.oauth_states_prune.apply_async(queue=queue)
            wait_for(lambda: not OAuthState.objects.exists(), timeout=30, what="the task over RabbitMQ")
    finally:
        worker.stop()
        with celery_conf(broker_url=RABBITMQ), app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
    assert "Connected to amqp://guest:**@127.0.0.1:5672//" in worker.log.read_text()


def test_check_deploy_warns_when_tasks_would_run_inline():
    from flashlearn.tests.test_startup import production_env

    without = manage("check", "--deploy", env=production_env(REDIS_URL=None))
    with_broker = manage("check", "--deploy", env=production_env(REDIS_URL=None,
                                                                  CELERY_BROKER_URL="amqp://mq.internal//"))

    assert "calendars.W003" in without.stderr + without.stdout
    assert "calendars.W003" not in with_broker.stderr + with_broker.stdout
