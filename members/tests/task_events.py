"""Waiting for Celery work to finish, instead of sleeping and hoping it did.

"Nothing more arrived" is only worth asserting once whatever could send it has finished:
these helpers wait for that event, then the test asserts."""

import contextlib
import threading
from collections import Counter

from celery.result import AsyncResult
from celery.signals import after_task_publish, task_postrun


class TasksSettled:
    """Every task published since entering (and every task those published) has run."""

    def __init__(self):
        self.published: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        self.names: dict[str, str] = {}
        self._changed = threading.Condition()

    def _on_publish(self, sender=None, headers=None, **kwargs):
        task_id = (headers or {}).get("id")
        if task_id:
            with self._changed:
                self.published[task_id] += 1
                self.names[task_id] = sender

    def _on_postrun(self, task_id=None, **kwargs):
        with self._changed:
            self.finished[task_id] += 1
            self._changed.notify_all()

    def _settled(self) -> bool:
        # A task publishes its follow-ups before its own postrun fires, so once every
        # published task has finished there is nothing left in flight. A retry is published
        # again under the same id and counts as one more run to wait for.
        return bool(self.published) and all(
            self.finished[task_id] >= count for task_id, count in self.published.items()
        )

    def wait(self, timeout: float = 30.0) -> list[str]:
        """The names of the tasks that ran, once all have; AssertionError on timeout."""
        with self._changed:
            if not self._changed.wait_for(self._settled, timeout=timeout):
                pending = [self.names[t] for t, n in self.published.items() if self.finished[t] < n]
                raise AssertionError(f"tasks still running after {timeout} s: {pending}")
            return [self.names[t] for t in self.published]


@contextlib.contextmanager
def tasks_settled():
    """Track the tasks published inside the block (in this process: the in-process
    `celery_worker` fixture publishes follow-up tasks here too):

        with tasks_settled() as tasks:
            publish()
            tasks.wait()
    """
    tracker = TasksSettled()
    after_task_publish.connect(tracker._on_publish, weak=False)
    task_postrun.connect(tracker._on_postrun, weak=False)
    try:
        yield tracker
    finally:
        after_task_publish.disconnect(tracker._on_publish)
        task_postrun.disconnect(tracker._on_postrun)


def with_result(task, *args, backend_url: str) -> AsyncResult:
    """Enqueue `task` so that its end is stored in a result backend (the portal's tasks
    ignore results) and return a handle whose .get() waits for it, from any process."""
    from celery.backends.redis import RedisBackend

    sent = task.apply_async(args, ignore_result=False)
    return AsyncResult(sent.id, backend=RedisBackend(app=task.app, url=backend_url), app=task.app)
