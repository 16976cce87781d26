"""A Mobiforce look-alike over real HTTP, for contract tests, end-to-end tests and ``make demo``.

The HTTP layer lives here: routing ``/api/v5/<command>``, ``/api/v4/close-task`` (and
``update-subdivision``), ``/api/get-taskupdates``; the ``Authorization: key=…`` check (401);
JSON bodies in, valid JSON out (the document's samples have trailing commas; the simulator
does not copy them unless a test asks for it with the ``trailing_commas`` fault); fault
injection. The account lives in :mod:`world` (directories, change feed) and
:mod:`tasks` (tasks, mobile employees); the server, the simulated clock, the request log and the
faults below the API in :mod:`sandbox.simulators.base`.

Everything due is run on each request and on :meth:`MobiforceSimulator.advance`. Randomness
comes from one seeded ``random.Random``.

Usage::

    sim = MobiforceSimulator(key="demo-key", seed_demo=True, speed=20)
    base_url = await sim.start()          # "http://127.0.0.1:PORT/api"
    ...
    await sim.stop()
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from aiohttp import web

from integrations.mobiforce.commands import COMMANDS
from sandbox.simulators.base import NextCalls, VendorSimulator
from sandbox.simulators.mobiforce.data import (
    CLIENTS,
    EXECUTORS,
    FIELDS,
    OPERATORS,
    TASKS,
    TEMPLATES,
)
from sandbox.simulators.mobiforce.equipment import EquipmentDesk
from sandbox.simulators.mobiforce.state import (
    BAD_KEY,
    SimAddress,
    SimContractor,
    SimEmployee,
    SimError,
    SimField,
    SimTask,
    SimTemplate,
    bad_request,
)
from sandbox.simulators.mobiforce.tasks import TaskDesk
from sandbox.simulators.mobiforce.world import World

__all__ = ["MobiforceSimulator", "TaskShape"]

TaskShape = Literal["document", "rich"]
Handler = Callable[[dict[str, str], Any, datetime], Any]


class Call(NamedTuple):
    """One request as the simulator saw it: the command, its query and its JSON body."""

    name: str
    query: dict[str, str]
    body: Any


class MobiforceSimulator(VendorSimulator[Call]):
    """An in-process Mobiforce account with a control API for tests and demos."""

    CALLS = COMMANDS
    CALL_KIND = "Mobiforce command"
    CUT_SHORT = '{"id": "52'

    def __init__(
        self,
        key: str = "demo-key",
        *,
        clock: Callable[[], datetime] | None = None,
        speed: float = 1.0,
        seed_demo: bool = False,
        seed: int = 0,
        auto_employees: bool | None = None,
        task_shape: TaskShape = "document",
    ) -> None:
        super().__init__(clock=clock, speed=speed)
        self.key = key
        self.paths: list[tuple[str, str]] = []  # (HTTP method, path) of every request
        self._forced: NextCalls[SimError] = NextCalls(COMMANDS, self.CALL_KIND)
        self._trailing_commas: NextCalls[bool] = NextCalls(COMMANDS, self.CALL_KIND)
        self._demo_next_task: datetime | None = None

        self.rng = random.Random(seed)
        self.world = World(self.now())
        auto = seed_demo if auto_employees is None else auto_employees
        self.desk = TaskDesk(self.world, self.rng, auto=auto, shape=task_shape)
        self.equipment = EquipmentDesk(self.world)
        world, desk, equipment = self.world, self.desk, self.equipment
        self._handlers: dict[str, Handler] = {
            "create-task": desk.create_task,
            "update-task": desk.update_task,
            "get-task": desk.get_task,
            "get-task-list": desk.get_task_list,
            "add-template-fields-to-task": desk.add_template_fields_to_task,
            "remove-template-fields-from-task": desk.remove_template_fields_from_task,
            "create-comment": desk.create_comment,
            "close-task": desk.close_task,
            "get-taskupdates": desk.get_taskupdates,
            "create-contractor": world.create_contractor,
            "update-contractor": world.update_contractor,
            "get-contractor": world.get_contractor,
            "get-contractor-by-external-id": world.get_contractor_by_external_id,
            "get-contractor-list": world.get_contractor_list,
            "create-contractor-person": world.create_contractor_person,
            "update-contractor-person": world.update_contractor_person,
            "get-contractor-person": world.get_contractor_person,
            "delete-contractor-person": world.delete_contractor_person,
            "create-contractor-phone": world.create_contractor_phone,
            "update-contractor-phone": world.update_contractor_phone,
            "get-contractor-phone": world.get_contractor_phone,
            "delete-contractor-phone": world.delete_contractor_phone,
            "add-subdivision": world.add_subdivision,
            "update-subdivision": world.update_subdivision,
            "create-template-field": world.create_template_field,
            "update-template-field": world.update_template_field,
            "get-template-field": world.get_template_field,
            "get-template-field-list": world.get_template_field_list,
            "delete-template-field": world.delete_template_field,
            "create-template": world.create_template,
            "update-template": world.update_template,
            "get-template": world.get_template,
            "get-template-list": world.get_template_list,
            "delete-template": world.delete_template,
            "create-equipment-model": equipment.create_equipment_model,
            "update-equipment-model": equipment.update_equipment_model,
            "get-equipment-model-list": equipment.get_equipment_model_list,
            "delete-equipment-model": equipment.delete_equipment_model,
            "create-equipment": equipment.create_equipment,
            "update-equipment": equipment.update_equipment,
            "get-equipment": equipment.get_equipment,
            "get-equipment-list": equipment.get_equipment_list,
            "delete-equipment": equipment.delete_equipment,
            "get-employee-list": world.get_employee_list,
            "get-updates": world.get_updates,
        }
        assert set(self._handlers) == set(COMMANDS), "every documented command is served"

        self.app.router.add_route("*", "/api/{version:v[0-9]+}/{command}", self._handle)
        self.app.router.add_route("*", "/api/{command}", self._handle)
        if seed_demo:
            self._seed_demo()

    def _api_url(self, origin: str) -> str:
        return f"{origin}/api"

    # --- simulated time -----------------------------------------------------------------------

    run_for = VendorSimulator.advance

    def _tick(self, now: datetime) -> None:
        """Run what is due: the employees' steps and, in the demo, the operator's new tasks."""
        while self._demo_next_task is not None and self._demo_next_task <= now:
            self._demo_new_task(self._demo_next_task)
            self._demo_next_task += timedelta(minutes=self.rng.uniform(8, 15))
        self.desk.tick(now)

    # --- control API: make things happen as people would ------------------------------------------

    def add_employee(self, name: str, phone: str = "", *, mobile: bool = True) -> SimEmployee:
        return self.world.add_employee(name, phone, mobile=mobile)

    def add_field(self, name: str, type_id: str, values: Iterable[str] = ()) -> SimField:
        return self.world.add_field(name, type_id, values)

    def add_template(
        self,
        name: str,
        *,
        visit_minutes: int = 60,
        props: Iterable[tuple[SimField, bool]] = (),
        checklist: Iterable[tuple[SimField, bool]] = (),
    ) -> SimTemplate:
        """A template; ``props``/``checklist`` are (field, required)."""
        return self.world.add_template(
            name, self.now(), visit_duration=visit_minutes * 60, props=props, checklist=checklist
        )

    def add_contractor(
        self, name: str, address: str = "", *, phone: str = "", external_id: str = ""
    ) -> SimContractor:
        contractor = self.world.add_contractor(
            name, self.now(), SimAddress(text=address), external_id=external_id
        )
        if phone:
            self.world.create_contractor_phone(
                {}, {"parent": {"id": contractor.id}, "name": phone}, self.now()
            )
        return contractor

    def add_task(self, body: dict[str, Any]) -> SimTask:
        """A task as if an operator made it in the cabinet (create-task's body)."""
        created = self.desk.create_task({}, body, self.now())
        return self.desk.tasks[created["id"]]

    def task(self, task_id: int) -> SimTask:
        return self.desk.task(task_id)

    def employee_takes(self, task_id: int) -> None:
        """The executor accepts the sent task in the mobile app."""
        self.desk.take(task_id, self.now())

    def fill_field(self, task_id: int, field_id: int | None = None, value: Any = None) -> None:
        """The executor fills a checklist field (the next empty one, a sample value by
        default)."""
        self.desk.fill(task_id, self.now(), field_id, value)

    def finish(self, task_id: int) -> None:
        """The executor completes the task (closed with the "done" result status)."""
        self.desk.finish(task_id, self.now())

    def operator_edits(
        self,
        task_id: int,
        *,
        employee_id: int | None = None,
        planned_start: datetime | None = None,
        planned_end: datetime | None = None,
        address: str | None = None,
    ) -> None:
        """An operator changes a task in the cabinet, sent or not (the API may change drafts
        only): reassign, reschedule, move."""
        task = self.desk.task(task_id)
        if employee_id is not None:
            task.employee_id = self.world.employees[employee_id].id
            if task.state == "accepted":
                task.state = "sent"
        if planned_start is not None:
            task.planned_start = planned_start
        if planned_end is not None:
            task.planned_end = planned_end
        if address is not None:
            task.address = SimAddress(text=address)
        self.desk.changed(task, self.now())

    def answer_task_with(self, task_id: int, **fields: Any) -> None:
        """get-task of this task answers these fields instead (a date in a form the client
        does not know, a value of another type): what a real account may send one day."""
        self.desk.overrides.setdefault(task_id, {}).update(fields)
        self.desk.changed(self.desk.task(task_id), self.now())

    @property
    def usn(self) -> int:
        """The newest task usn."""
        return self.world.usn["task"]

    def fail_next(
        self, name: str, fault: int | str = 500, *, times: int = 1, after: bool = False
    ) -> None:
        """The next ``times`` calls of ``name`` fail below the API (an HTTP status,
        ``"timeout"``, ``"drop"``, ``"bad_json"``, ``"html"``; with ``after`` the account
        carries the call out first and only its answer is lost), or answer normally but with
        the document's ``"trailing_commas"``."""
        if fault == "trailing_commas":
            self._trailing_commas.add(name, True, times)
        else:
            super().fail_next(name, fault, times=times, after=after)

    def force_error(
        self,
        command: str,
        status: int = 400,
        *,
        code: int = 1,
        description: str = "что то пошло не так",
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``command`` answer ``{"code", "description"}``."""
        self._forced.add(command, SimError(status, code, description), times)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.paths.append((request.method, request.path))
        command = request.match_info["command"]
        spec = COMMANDS.get(command)
        if spec is None or request.match_info.get("version", "") != spec.version:
            return web.Response(status=404, text="Not Found")
        query = dict(request.query)
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return _error(bad_request("Неверный JSON в теле запроса"))
        method, key = request.method, _key_of(request.headers.get("Authorization", ""))
        return await self._serve(
            request,
            Call(command, query, body),
            lambda: self._answer(command, method, key, query, body),
        )

    def _answer(
        self, command: str, method: str, key: str, query: dict[str, str], body: Any
    ) -> web.Response:
        if key != self.key:
            return _error(BAD_KEY)
        expected = COMMANDS[command].method
        if method != expected and not (expected == "GET" and method == "POST"):
            return _error(bad_request(f"{command}: ожидается {expected}"))
        now = self.now()
        self._tick(now)
        forced = self._forced.pop(command)
        if forced is not None:
            return _error(forced)
        try:
            answer = self._handlers[command](query, body, now)
        except SimError as error:
            return _error(error)
        text = json.dumps(answer, ensure_ascii=False, indent=1)
        if self._trailing_commas.pop(command):
            text = re.sub(r"(\S)(\n\s*[}\]])", r"\1,\2", text)
        return web.Response(text=text, content_type="application/json")

    # --- demo ---------------------------------------------------------------------------------

    def _seed_demo(self) -> None:
        """Templates with required fields, employees with phones, Moscow-area clients, and
        tasks in every state; with ``auto_employees`` they move within simulated minutes."""
        now = self.now()
        fields = {f.key: self.world.add_field(f.name, f.type_id, f.values) for f in FIELDS}
        templates = [
            self.world.add_template(
                t.name,
                now,
                visit_duration=t.visit_minutes * 60,
                props=[(fields[key], required) for key, required in t.props],
                checklist=[(fields[key], required) for key, required in t.checklist],
            )
            for t in TEMPLATES
        ]
        for name, phone in OPERATORS:
            self.world.add_employee(name, phone, mobile=False)
        executors = [self.world.add_employee(name, phone) for name, phone in EXECUTORS]
        clients = []
        for client in CLIENTS:
            body: dict[str, Any] = {
                "name": client.name,
                "address": client.address,
                "lat": f"{client.lat:.4f}",
                "lon": f"{client.lon:.4f}",
                "phone": [{"name": client.phone}],
            }
            if client.person:
                body["person"] = [{"name": client.person}]
            clients.append(self.world.create_contractor({}, body, now)["id"])
        for template_index, client_index, executor_index, hours, state in TASKS:
            template = templates[template_index]
            start = (now + timedelta(hours=hours)).replace(second=0, microsecond=0)
            props = [
                {"field": {"id": fields["kind"].id}, "value": "Плановый"}
                for item in template.props
                if item.field_id == fields["kind"].id
            ]
            body = {
                "template": {"id": template.id},
                "contractor": {"id": clients[client_index]},
                "draft": state == "draft" or executor_index is None,
                "plannedVisitTime": start.isoformat(),
                "props": props,
            }
            if executor_index is not None:
                body["employee"] = {"id": executors[executor_index].id}
            task = self.desk.tasks[self.desk.create_task({}, body, now)["id"]]
            if state in ("accepted", "done"):
                self.desk.take(task.id, now)
            if state == "done":
                for _ in task.checklist:
                    self.desk.fill(task.id, now)
                self.desk.finish(task.id, now)
        if self.desk.auto:
            self._demo_next_task = now + timedelta(minutes=5)

    def _demo_new_task(self, now: datetime) -> None:
        """The demo's operator sends one more task to a random executor for a random client."""
        templates = self.world.live(self.world.templates.values())
        clients = [c for c in self.world.live(self.world.contractors.values()) if not c.parent_id]
        executors = [e for e in self.world.employees.values() if e.mobile_role]
        if not (templates and clients and executors):
            return
        template = self.rng.choice(templates)
        start = (now + timedelta(hours=self.rng.choice([1, 2, 3]))).replace(second=0, microsecond=0)
        kind = [
            {
                "field": {"id": item.field_id},
                "value": self.world.fields[item.field_id].values[0]["name"],
            }
            for item in template.props
            if item.required and self.world.fields[item.field_id].values
        ]
        body = {
            "template": {"id": template.id},
            "contractor": {"id": self.rng.choice(clients).id},
            "employee": {"id": self.rng.choice(executors).id},
            "draft": False,
            "plannedVisitTime": start.isoformat(),
            "props": kind,
        }
        self.desk.create_task({}, body, now)


def _key_of(header: str) -> str:
    """``key=ABC`` or ``key="ABC"`` (public 1C examples quote it) -> ``ABC``."""
    scheme, _, value = header.strip().partition("=")
    if scheme.strip().lower() != "key":
        return ""
    return value.strip().strip('"')


def _error(error: SimError) -> web.Response:
    return web.json_response(
        error.body(), status=error.status, dumps=lambda d: json.dumps(d, ensure_ascii=False)
    )
