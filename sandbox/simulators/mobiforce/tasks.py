"""Tasks in the simulator: the task commands and the mobile employees who work them.

The rules the document states: a task needs an existing template and (if named) an existing
client and executor; only a draft can be changed; ``draft: false`` sends the task to its
executor at once; ``get-taskupdates`` answers at most once in five minutes. Every change of a
task goes to the change feed (``World.touch``) and to the legacy update log.

Mobile employees (when ``auto`` is on, as in the demo) take a sent task a few simulated
minutes later, fill its checklist one field at a time and finish it. Tests drive the same
steps by hand: :meth:`TaskDesk.take`, :meth:`TaskDesk.fill`, :meth:`TaskDesk.finish`.
"""

from __future__ import annotations

import heapq
import itertools
import random
from datetime import datetime, timedelta
from typing import Any, Final

from integrations.mobiforce.models import MOSCOW_TZ, parse_time
from sandbox.simulators.mobiforce.state import (
    DONE_RESULT_STATUS,
    NOT_DRAFT,
    STATUS_NAMES,
    TOO_FREQUENT,
    UNKNOWN_CONTRACTOR_CODE,
    UNKNOWN_EMPLOYEE_CODE,
    UNKNOWN_TEMPLATE_CODE,
    Json,
    SimAddress,
    SimError,
    SimTask,
    SimTaskItem,
    SimTemplateItem,
    bad_request,
    iso_z,
    not_found,
)
from sandbox.simulators.mobiforce.world import World, body_dict, id_param, page_of, ref_id

LEGACY_INTERVAL: Final = timedelta(minutes=5)
LEGACY_PAGE: Final = 100
LEGACY_HISTORY: Final = timedelta(days=7)
TASK_FIELDS: Final = frozenset(
    {
        "number", "template", "employee", "contractor", "draft", "address", "addressPorch",
        "addressFloor", "addressRoom", "addressInfo", "lat", "lon", "verificationRequired",
        "plannedVisitTime", "plannedEndVisitTime", "props",
    }
)  # fmt: skip


def _planned(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        raise bad_request(f"Неверный формат времени: {value!r}") from None


class TaskDesk:
    """The task commands of one simulated account, and its mobile employees."""

    def __init__(
        self, world: World, rng: random.Random, *, auto: bool, shape: str = "document"
    ) -> None:
        self.world = world
        self.rng = rng
        self.auto = auto
        self.shape = shape  # get-task: "document" (the sample's fields) or "rich"
        self.overrides: dict[int, Json] = {}  # fields a test makes get-task answer instead
        self.tasks: dict[int, SimTask] = {}
        self.legacy_log: list[tuple[int, int, datetime]] = []  # (event id, task id, time)
        self._legacy_ids = itertools.count(866800)
        self._last_legacy_call: datetime | None = None
        self._numbers = itertools.count(1)
        self._agenda: list[tuple[datetime, int, int, str]] = []  # (due, seq, task id, step)
        self._seq = itertools.count()

    # --- lookups and bookkeeping ----------------------------------------------------------------

    def task(self, task_id: int) -> SimTask:
        found = self.tasks.get(task_id)
        if found is None:
            raise not_found("Задача", task_id)
        return found

    def changed(self, task: SimTask, now: datetime) -> int:
        self.legacy_log.append((next(self._legacy_ids), task.id, now))
        return self.world.touch("task", task.id, now)

    def _items(self, items: list[SimTemplateItem], values: dict[int, Any]) -> list[SimTaskItem]:
        rows = []
        for item in items:
            template_field = self.world.fields[item.field_id]
            rows.append(
                SimTaskItem(
                    self.world.new_id(),
                    template_field.id,
                    template_field.name,
                    template_field.type_id,
                    value=values.get(template_field.id),
                    required=item.required,
                    visible_to_mobile=item.visible_to_mobile,
                )
            )
        return rows

    # --- create / update ------------------------------------------------------------------------

    def _apply(self, task: SimTask, data: Json, now: datetime, *, creating: bool) -> None:
        """Validate everything first, then change the task (a refused update changes nothing)."""
        template_id = ref_id(data["template"]) if "template" in data else task.template_id
        if template_id not in self.world.templates or self.world.templates[template_id].deleted:
            raise SimError(400, UNKNOWN_TEMPLATE_CODE, f"Шаблон {template_id} не найден")
        contractor_id = ref_id(data.get("contractor")) if "contractor" in data else None
        if contractor_id and (
            contractor_id not in self.world.contractors
            or self.world.contractors[contractor_id].deleted
        ):
            raise SimError(
                400,
                UNKNOWN_CONTRACTOR_CODE,
                "Ошибка записи задачи: клиент не найден, сначала отправьте объект-клиент",
            )
        employee_id = ref_id(data.get("employee")) if "employee" in data else None
        if employee_id and employee_id not in self.world.employees:
            raise SimError(400, UNKNOWN_EMPLOYEE_CODE, f"Сотрудник {employee_id} не найден")
        start = _planned(data["plannedVisitTime"]) if "plannedVisitTime" in data else None
        end = _planned(data["plannedEndVisitTime"]) if "plannedEndVisitTime" in data else None
        values: dict[int, Any] = {}
        for prop in data.get("props") or []:
            field_id = ref_id(prop.get("field")) if isinstance(prop, dict) else 0
            self.world.field(field_id)
            values[field_id] = prop.get("value")
        draft = bool(data["draft"]) if "draft" in data else task.draft
        if not draft and not (employee_id or task.employee_id):
            raise bad_request("Для отправки задачи исполнителю необходимо указать исполнителя")

        template = self.world.templates[template_id]
        if creating or template_id != task.template_id:
            task.template_id = template_id
            task.props = self._items(template.props, values)
            task.checklist = self._items(template.checklist, {})
        else:
            for item in task.props:
                if item.field_id in values:
                    item.value = values[item.field_id]
        if contractor_id is not None:
            task.contractor_id = contractor_id
        if employee_id is not None:
            task.employee_id = employee_id
        if data.get("number"):
            task.number = str(data["number"])
        if "address" in data:
            task.address = SimAddress.from_json(data)
        elif creating and task.contractor_id:
            task.address = self.world.contractors[task.contractor_id].address
        if "verificationRequired" in data:
            task.verification_required = bool(data["verificationRequired"])
        if start is not None:
            task.planned_start = start
            if end is None and creating:
                end = start + timedelta(seconds=template.visit_duration)
        if end is not None:
            task.planned_end = end
        task.draft = draft
        if not draft:
            self._send(task, now)

    def create_task(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        if "template" not in data:
            raise SimError(400, UNKNOWN_TEMPLATE_CODE, "Не задан шаблон задачи")
        task = SimTask(self.world.new_id(), f"{next(self._numbers):06d}", 0, now)
        self._apply(task, data, now, creating=True)
        self.tasks[task.id] = task
        self.changed(task, now)
        return {"id": task.id}

    def update_task(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        task = self.task(id_param(query))
        if not task.draft:
            raise NOT_DRAFT
        self._apply(task, body_dict(body), now, creating=False)
        self.changed(task, now)
        return {"id": task.id}

    def _send(self, task: SimTask, now: datetime) -> None:
        task.state = "sent"
        if self.auto:
            self._plan(task, now + timedelta(minutes=self.rng.uniform(1.5, 4)), "take")

    # --- reads ----------------------------------------------------------------------------------

    def task_json(self, task: SimTask) -> Json:
        """get-task: exactly the fields of the document's sample; with the "rich" shape also
        what a real account "may return more": the executor and the client as bare ids, the
        address, a status and the closing."""
        template = self.world.templates[task.template_id]
        body: Json = {
            "id": str(task.id),
            "createdAt": iso_z(task.created_at),
            "plannedVisitTime": iso_z(task.planned_start),
            "plannedEndVisitTime": iso_z(task.planned_end),
            "draft": task.draft,
            "template": {"id": template.id, "name": template.name},
            "name": task.number,
            "props": [item.to_json() for item in task.props],
            "checklist": [item.to_json() for item in task.checklist],
        }
        if self.shape == "rich":
            body.update(self.rich_fields(task))
        body.update(self.overrides.get(task.id, {}))
        return body

    def rich_fields(self, task: SimTask) -> Json:
        status_id, status_name = STATUS_NAMES[task.state]
        return {
            "employee": {"id": task.employee_id} if task.employee_id else None,
            "contractor": {"id": task.contractor_id} if task.contractor_id else None,
            **task.address.to_json(),
            "verificationRequired": task.verification_required,
            "status": {"id": status_id, "name": status_name},
            "closedAt": iso_z(task.closed_at),
            "resultStatus": (
                {"id": task.result_status[0], "name": task.result_status[1]}
                if task.result_status
                else None
            ),
            "resultsDescription": task.results_description,
        }

    def get_task(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        return self.task_json(self.task(id_param(query)))

    def get_task_list(self, query: dict[str, str], body: Any, now: datetime) -> list[Json]:
        rows = [
            {"id": str(t.id), "name": t.number}
            for t in sorted(self.tasks.values(), key=lambda t: t.id)
        ]
        return page_of(query, rows)

    def get_taskupdates(self, query: dict[str, str], body: Any, now: datetime) -> list[Json]:
        if self._last_legacy_call is not None and now - self._last_legacy_call < LEGACY_INTERVAL:
            raise TOO_FREQUENT
        self._last_legacy_call = now
        week_ago = now - LEGACY_HISTORY
        recent = [row for row in self.legacy_log if row[2] >= week_ago]
        since = int(query["id"]) if query.get("id", "").isdigit() else None
        if since is not None and any(row[0] == since for row in recent):
            recent = [row for row in recent if row[0] > since]
        return [{"task_id": task_id, "id": event} for event, task_id, _ in recent[:LEGACY_PAGE]]

    # --- fields, comments, closing --------------------------------------------------------------

    def add_template_fields_to_task(self, query: dict[str, str], body: Any, now: datetime) -> Any:
        task = self.task(id_param(query))
        if not isinstance(body, list):
            raise bad_request("Ожидается массив полей")
        added = []
        for row in body:
            if not isinstance(row, dict) or row.get("to") not in ("props", "checklist"):
                raise bad_request("Поле to должно быть props или checklist")
            template_field = self.world.field(ref_id(row.get("field")))
            item = SimTaskItem(
                self.world.new_id(),
                template_field.id,
                template_field.name,
                template_field.type_id,
                value=row.get("value"),
                parent=ref_id(row.get("parent")),
            )
            target = task.props if row["to"] == "props" else task.checklist
            position = row.get("position")
            if isinstance(position, int) and 0 <= position <= len(target):
                target.insert(position, item)
            else:
                target.append(item)
            added.append({"id": str(item.id)})
        self.changed(task, now)
        return added

    def remove_template_fields_from_task(
        self, query: dict[str, str], body: Any, now: datetime
    ) -> Json:
        task = self.task(id_param(query))
        if not isinstance(body, list):
            raise bad_request("Ожидается массив полей")
        drop = {ref_id(row.get("field")) for row in body if isinstance(row, dict)}
        task.props = [item for item in task.props if item.field_id not in drop]
        task.checklist = [item for item in task.checklist if item.field_id not in drop]
        self.changed(task, now)
        return {"id": task.id}

    def create_comment(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        task = self.task(ref_id(data.get("task")))
        if not str(data.get("message") or "").strip():
            raise bad_request("Пустой комментарий")
        comment_id = self.world.new_id()
        task.comments.append((comment_id, str(data["message"]), now))
        self.changed(task, now)
        return {"id": comment_id}

    def close_task(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        task = self.task(id_param(query))
        data = body_dict(body)
        if task.closed:
            raise bad_request("Задача уже завершена")
        status = str(data.get("result_status") or "").strip()
        if not status:
            raise bad_request("Не задан статус завершения")
        description = str(data.get("results_description") or "")
        self._close(task, now, (status, "Закрыта через API"), description, state="closed")
        return {"id": task.id}

    def _close(
        self, task: SimTask, now: datetime, status: tuple[str, str], text: str, *, state: str
    ) -> None:
        task.state = state
        task.closed_at = now
        task.result_status = status
        task.results_description = text
        self.changed(task, now)

    # --- the mobile employee's steps ------------------------------------------------------------

    def _plan(self, task: SimTask, due: datetime, step: str) -> None:
        heapq.heappush(self._agenda, (due, next(self._seq), task.id, step))

    def tick(self, now: datetime) -> None:
        """Run every planned step that is due by ``now``, in order, each at its own time."""
        while self._agenda and self._agenda[0][0] <= now:
            due, _, task_id, step = heapq.heappop(self._agenda)
            task = self.tasks.get(task_id)
            if task is None or task.closed or task.draft:
                continue
            if step == "take" and task.state == "sent":
                self.take(task_id, due)
            elif step == "fill" and task.state == "accepted":
                self.fill(task_id, due)
            elif step == "finish" and task.state == "accepted":
                self.finish(task_id, due)

    def take(self, task_id: int, now: datetime) -> None:
        """The executor accepts a sent task in the app."""
        task = self.task(task_id)
        if task.state != "sent":
            raise ValueError(f"task {task_id} is {task.state}, not sent")
        task.state = "accepted"
        self.changed(task, now)
        if self.auto:
            self._plan(task, now + timedelta(minutes=self.rng.uniform(1.5, 3.5)), "fill")

    def fill(
        self, task_id: int, now: datetime, field_id: int | None = None, value: Any = None
    ) -> None:
        """The executor fills one checklist field (the next empty one unless ``field_id``)."""
        task = self.task(task_id)
        empty = [item for item in task.checklist if not item.filled]
        if field_id is not None:
            empty = [item for item in task.checklist if item.field_id == field_id]
            if not empty:
                raise ValueError(f"task {task_id} has no checklist field {field_id}")
        if empty:
            item = empty[0]
            item.value = self._sample_value(item, now) if value is None else value
            self.changed(task, now)
        if self.auto and field_id is None:
            step = "fill" if len(empty) > 1 else "finish"
            self._plan(task, now + timedelta(minutes=self.rng.uniform(1.5, 3.5)), step)

    def finish(self, task_id: int, now: datetime) -> None:
        """The executor completes the task in the app."""
        task = self.task(task_id)
        if task.closed:
            raise ValueError(f"task {task_id} is already closed")
        self._close(task, now, DONE_RESULT_STATUS, "Работы выполнены", state="done")

    def _sample_value(self, item: SimTaskItem, now: datetime) -> Any:
        template_field = self.world.fields[item.field_id]
        kind = item.type_id
        if kind == "6":
            return self.rng.randint(1, 4)
        if kind == "2":
            return self.rng.choice([450, 1200, 2500, 3800, 5600])
        if kind == "4":
            return True
        if kind == "5":
            names = [v["name"] for v in template_field.values if not v["deleted"]]
            return self.rng.choice(names) if names else ""
        if kind == "3":
            return now.astimezone(MOSCOW_TZ).strftime("%Y-%m-%d")
        return self.rng.choice(["Всё в порядке", "Клиент принял без замечаний", "Выполнено"])
