"""Async client for the Mobiforce API: one method per documented command.

Every call goes through :meth:`MobiforceClient._request`, which is where the policies live:

* **URL.** ``MOBIFORCE_BASE_URL`` is the company's ``https://<domain>.mobiforce.ru/api``; the
  command table (:mod:`integrations.mobiforce.commands`) adds ``/v5/<command>``,
  ``/v4/close-task`` or the unversioned ``/get-taskupdates``. Reads are GET with the parameters
  in the query; writes are POST with a JSON body and ``?id=`` where the document puts it.
* **Key** in the ``Authorization: key=<KEY>`` header, never in a URL.
* **Timeouts** on every request; **retries** (tenacity) only for reads, only after network
  errors, timeouts, 5xx and answers that are not JSON. Writes are never repeated: a create
  that timed out may have happened, and two tasks are worse than one error message.
* **Rate budget.** One ``AsyncLimiter(per_minute, 60)``; a call that would wait more than
  ``max_rate_wait`` seconds raises :class:`MobiforceLimitExceeded` instead.
* **Key lock.** An HTTP 401 raises :class:`MobiforceAuthError` and locks the client: later
  calls raise :class:`MobiforceDisabled` (both ``IntegrationDisabled``) without a request
  until :meth:`reset_auth_lock` (the bot's ``/resume mobiforce``).
* **Secrets.** No exception text or log line carries the key: httpx errors are not chained
  (their requests hold the header) and every text is scrubbed of the key.
* **Lists** page by 10 (``page`` from 0): ``get_…_list(page)`` reads one page, ``iter_…``
  walks pages as an async iterator and stops at a short page or after ``max_pages``.
* **Metrics.** :attr:`stats` counts calls, errors and retries per command.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import httpx
from aiolimiter import AsyncLimiter
from pydantic import ValidationError

from integrations.http import ClientStats, VendorClient, shared_tls_context
from integrations.mobiforce import wire
from integrations.mobiforce.commands import COMMANDS, FEED_PAGE_SIZE, PAGE_SIZE, Kind
from integrations.mobiforce.errors import (
    MobiforceAuthError,
    MobiforceBadAnswer,
    MobiforceDisabled,
    MobiforceError,
    MobiforceLimitExceeded,
    MobiforceUnavailable,
    error_from_response,
)
from integrations.mobiforce.inputs import (
    ContractorInput,
    EquipmentInput,
    EquipmentModelInput,
    PersonInput,
    PhoneInput,
    SubdivisionInput,
    TaskFieldAddition,
    TaskInput,
    TemplateFieldInput,
    TemplateInput,
)
from integrations.mobiforce.models import (
    Contractor,
    ContractorListItem,
    ContractorPerson,
    Employee,
    Equipment,
    ListItem,
    Phone,
    Task,
    TaskUpdateEvent,
    Template,
    TemplateField,
    Update,
)
from integrations.redact import redact_url

__all__ = ["DEFAULT_MAX_PAGES", "MobiforceClient", "MobiforceStats"]

logger = logging.getLogger("integrations.mobiforce")

DEFAULT_MAX_PAGES: Final = 100  # 1,000 rows: a directory sync, never a keystroke

T = TypeVar("T")
Query = Mapping[str, str | int]


MobiforceStats = ClientStats  # calls, errors, retries per function


class MobiforceClient(VendorClient):
    """One Mobiforce company account. Use ``async with`` or call :meth:`aclose`."""

    service = "mobiforce"

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float = 15.0,
        per_minute: int = 300,
        max_rate_wait: float = 3.0,
        retries: int = 2,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not base_url or not key:
            raise ValueError("Mobiforce base URL and key are required")
        self._base_url = base_url.rstrip("/")
        self._key = key
        self._timeout = timeout
        self._max_rate_wait = max_rate_wait
        self._per_minute = per_minute
        self._limiter = AsyncLimiter(per_minute, 60)
        super().__init__(secret=self._key, retries=retries, backoff=backoff)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=shared_tls_context(),
            follow_redirects=False,
            headers={
                "User-Agent": "logibot-mobiforce/1",
                "Accept": "application/json",
                "Authorization": f"key={key}",
            },
        )
        self.stats = MobiforceStats()

    def __repr__(self) -> str:
        return f"MobiforceClient({self._base_url!r}, key=***)"

    # --- key lock -----------------------------------------------------------------------------

    # --- tasks --------------------------------------------------------------------------------

    @property
    def per_minute(self) -> int:
        """The client's own request budget a minute (what the poll period must fit)."""
        return self._per_minute

    async def create_task(self, task: TaskInput) -> int:
        """Create a task; returns its internal id. A new client must be created first."""
        return await self._request("create-task", body=task.to_wire(), parse=wire.created)

    async def update_task(self, task_id: int, task: TaskInput) -> int:
        """Change a task. Mobiforce changes drafts only (else :class:`MobiforceTaskNotEditable`)."""
        return await self._request(
            "update-task",
            query=wire.id_query(task_id),
            body=task.to_wire(),
            parse=wire.id_or(task_id),
        )

    async def get_task(self, task_id: int) -> Task:
        return await self._request("get-task", query=wire.id_query(task_id), parse=wire.one(Task))

    async def get_task_list(self, page: int = 0) -> list[ListItem]:
        """One page (10 rows) of tasks: internal id and number (``name``)."""
        return await self._request(
            "get-task-list", query=wire.page_query(page), parse=wire.rows(ListItem)
        )

    def iter_tasks(self, *, max_pages: int = DEFAULT_MAX_PAGES) -> AsyncIterator[ListItem]:
        return self._iterate(self.get_task_list, max_pages)

    async def add_template_fields_to_task(
        self, task_id: int, fields: Sequence[TaskFieldAddition]
    ) -> Any:
        """Add template fields to a task's data (``to="props"``) or report (``"checklist"``).
        The answer is undocumented: returned as parsed JSON."""
        body = [item.to_wire() for item in fields]
        return await self._request(
            "add-template-fields-to-task", query=wire.id_query(task_id), body=body, parse=wire.raw
        )

    async def remove_template_fields_from_task(self, task_id: int, field_ids: Sequence[int]) -> Any:
        body = [{"field": {"id": int(field_id)}} for field_id in field_ids]
        return await self._request(
            "remove-template-fields-from-task",
            query=wire.id_query(task_id),
            body=body,
            parse=wire.raw,
        )

    async def create_comment(self, task_id: int, message: str) -> int:
        """Comment on a task; returns the comment id."""
        body = {"message": message, "task": {"id": int(task_id)}}
        return await self._request("create-comment", body=body, parse=wire.created)

    async def close_task(self, task_id: int, result_status: int | str, description: str) -> int:
        """Close a task (``/v4/``) with the id of a completion status of the account."""
        body = {"result_status": str(result_status), "results_description": description}
        return await self._request(
            "close-task", query=wire.id_query(task_id), body=body, parse=wire.id_or(task_id)
        )

    async def get_taskupdates(self, since_id: int | None = None) -> list[TaskUpdateEvent]:
        """Legacy change list (up to 100 rows, once per 5 minutes); prefer :meth:`get_updates`."""
        query = {} if since_id is None else wire.id_query(since_id)
        return await self._request("get-taskupdates", query=query, parse=wire.rows(TaskUpdateEvent))

    # --- the change feed ----------------------------------------------------------------------

    async def get_updates(self, usn: int = 0, *, type: str = "task") -> list[Update]:
        """Objects of ``type`` changed after ``usn`` (up to 3000, ascending usn; each row
        carries its object's id and latest usn). ``usn=0`` on the first exchange."""
        query: dict[str, str | int] = {"type": type, "usn": int(usn)}
        rows = await self._request("get-updates", query=query, parse=wire.rows(Update))
        rows.sort(key=lambda row: row.usn)
        if len(rows) > FEED_PAGE_SIZE:
            logger.info("mobiforce get-updates: %d rows, more than documented", len(rows))
        return rows

    # --- contractors (clients), persons, phones, subdivisions ---------------------------------

    async def create_contractor(self, contractor: ContractorInput) -> int:
        return await self._request(
            "create-contractor", body=contractor.to_wire(), parse=wire.created
        )

    async def update_contractor(self, contractor_id: int, contractor: ContractorInput) -> int:
        return await self._request(
            "update-contractor",
            query=wire.id_query(contractor_id),
            body=contractor.to_wire(),
            parse=wire.id_or(contractor_id),
        )

    async def get_contractor(self, contractor_id: int) -> Contractor:
        return await self._request(
            "get-contractor", query=wire.id_query(contractor_id), parse=wire.one(Contractor)
        )

    async def get_contractor_by_external_id(self, external_id: str) -> Contractor:
        return await self._request(
            "get-contractor-by-external-id",
            query={"external-id": external_id},
            parse=wire.one(Contractor),
        )

    async def get_contractor_list(self, page: int = 0) -> list[ContractorListItem]:
        return await self._request(
            "get-contractor-list", query=wire.page_query(page), parse=wire.rows(ContractorListItem)
        )

    def iter_contractors(
        self, *, max_pages: int = DEFAULT_MAX_PAGES
    ) -> AsyncIterator[ContractorListItem]:
        return self._iterate(self.get_contractor_list, max_pages)

    async def create_contractor_person(self, person: PersonInput) -> int:
        return await self._request(
            "create-contractor-person", body=person.to_wire(), parse=wire.created
        )

    async def update_contractor_person(self, person_id: int, person: PersonInput) -> int:
        return await self._request(
            "update-contractor-person",
            query=wire.id_query(person_id),
            body=person.to_wire(),
            parse=wire.id_or(person_id),
        )

    async def get_contractor_person(self, person_id: int) -> ContractorPerson:
        return await self._request(
            "get-contractor-person",
            query=wire.id_query(person_id),
            parse=wire.one(ContractorPerson),
        )

    async def delete_contractor_person(self, person_id: int) -> int:
        return await self._request(
            "delete-contractor-person", query=wire.id_query(person_id), parse=wire.id_or(person_id)
        )

    async def create_contractor_phone(self, phone: PhoneInput) -> int:
        return await self._request(
            "create-contractor-phone", body=phone.to_wire(), parse=wire.created
        )

    async def update_contractor_phone(self, phone_id: int, phone: PhoneInput) -> int:
        return await self._request(
            "update-contractor-phone",
            query=wire.id_query(phone_id),
            body=phone.to_wire(),
            parse=wire.id_or(phone_id),
        )

    async def get_contractor_phone(self, phone_id: int) -> Phone:
        return await self._request(
            "get-contractor-phone", query=wire.id_query(phone_id), parse=wire.one(Phone)
        )

    async def delete_contractor_phone(self, phone_id: int) -> int:
        return await self._request(
            "delete-contractor-phone", query=wire.id_query(phone_id), parse=wire.id_or(phone_id)
        )

    async def add_subdivision(self, subdivision: SubdivisionInput) -> int:
        if subdivision.contractor_id is None:
            raise ValueError("add-subdivision needs the client's contractor_id")
        return await self._request(
            "add-subdivision", body=subdivision.to_wire(), parse=wire.created
        )

    async def update_subdivision(self, subdivision_id: int, subdivision: SubdivisionInput) -> int:
        body = subdivision.to_wire()
        body.pop("contractor_id", None)  # not part of the documented update body
        return await self._request(
            "update-subdivision",
            query=wire.id_query(subdivision_id),
            body=body,
            parse=wire.id_or(subdivision_id),
        )

    # --- template fields and templates --------------------------------------------------------

    async def create_template_field(self, template_field: TemplateFieldInput) -> int:
        return await self._request(
            "create-template-field", body=template_field.to_wire(), parse=wire.created
        )

    async def update_template_field(self, field_id: int, template_field: TemplateFieldInput) -> int:
        return await self._request(
            "update-template-field",
            query=wire.id_query(field_id),
            body=template_field.to_wire(),
            parse=wire.id_or(field_id),
        )

    async def get_template_field(self, field_id: int) -> TemplateField:
        return await self._request(
            "get-template-field", query=wire.id_query(field_id), parse=wire.one(TemplateField)
        )

    async def get_template_field_list(self, page: int = 0) -> list[ListItem]:
        return await self._request(
            "get-template-field-list", query=wire.page_query(page), parse=wire.rows(ListItem)
        )

    def iter_template_fields(
        self, *, max_pages: int = DEFAULT_MAX_PAGES
    ) -> AsyncIterator[ListItem]:
        return self._iterate(self.get_template_field_list, max_pages)

    async def delete_template_field(self, field_id: int) -> int:
        return await self._request(
            "delete-template-field", query=wire.id_query(field_id), parse=wire.id_or(field_id)
        )

    async def create_template(self, template: TemplateInput) -> int:
        return await self._request("create-template", body=template.to_wire(), parse=wire.created)

    async def update_template(self, template_id: int, template: TemplateInput) -> int:
        return await self._request(
            "update-template",
            query=wire.id_query(template_id),
            body=template.to_wire(),
            parse=wire.id_or(template_id),
        )

    async def get_template(self, template_id: int) -> Template:
        """A template with its fields and visit duration (the document's second
        "get-template-field" section)."""
        return await self._request(
            "get-template", query=wire.id_query(template_id), parse=wire.one(Template)
        )

    async def get_template_list(self, page: int = 0) -> list[ListItem]:
        return await self._request(
            "get-template-list", query=wire.page_query(page), parse=wire.rows(ListItem)
        )

    def iter_templates(self, *, max_pages: int = DEFAULT_MAX_PAGES) -> AsyncIterator[ListItem]:
        return self._iterate(self.get_template_list, max_pages)

    async def delete_template(self, template_id: int) -> int:
        return await self._request(
            "delete-template", query=wire.id_query(template_id), parse=wire.id_or(template_id)
        )

    # --- equipment ----------------------------------------------------------------------------

    async def create_equipment_model(self, model: EquipmentModelInput) -> int:
        return await self._request(
            "create-equipment-model", body=model.to_wire(), parse=wire.created
        )

    async def update_equipment_model(self, model_id: int, model: EquipmentModelInput) -> int:
        return await self._request(
            "update-equipment-model",
            query=wire.id_query(model_id),
            body=model.to_wire(),
            parse=wire.id_or(model_id),
        )

    async def get_equipment_model_list(self, page: int = 0) -> list[ListItem]:
        return await self._request(
            "get-equipment-model-list", query=wire.page_query(page), parse=wire.rows(ListItem)
        )

    def iter_equipment_models(
        self, *, max_pages: int = DEFAULT_MAX_PAGES
    ) -> AsyncIterator[ListItem]:
        return self._iterate(self.get_equipment_model_list, max_pages)

    async def delete_equipment_model(self, model_id: int) -> int:
        return await self._request(
            "delete-equipment-model", query=wire.id_query(model_id), parse=wire.id_or(model_id)
        )

    async def create_equipment(self, equipment: EquipmentInput) -> int:
        return await self._request("create-equipment", body=equipment.to_wire(), parse=wire.created)

    async def update_equipment(self, equipment_id: int, equipment: EquipmentInput) -> int:
        return await self._request(
            "update-equipment",
            query=wire.id_query(equipment_id),
            body=equipment.to_wire(),
            parse=wire.id_or(equipment_id),
        )

    async def get_equipment(self, equipment_id: int) -> Equipment:
        return await self._request(
            "get-equipment", query=wire.id_query(equipment_id), parse=wire.one(Equipment)
        )

    async def get_equipment_list(self, page: int = 0) -> list[ListItem]:
        return await self._request(
            "get-equipment-list", query=wire.page_query(page), parse=wire.rows(ListItem)
        )

    def iter_equipment(self, *, max_pages: int = DEFAULT_MAX_PAGES) -> AsyncIterator[ListItem]:
        return self._iterate(self.get_equipment_list, max_pages)

    async def delete_equipment(self, equipment_id: int) -> int:
        return await self._request(
            "delete-equipment", query=wire.id_query(equipment_id), parse=wire.id_or(equipment_id)
        )

    # --- employees ----------------------------------------------------------------------------

    async def get_employee_list(self, page: int = 0) -> list[Employee]:
        return await self._request(
            "get-employee-list", query=wire.page_query(page), parse=wire.rows(Employee)
        )

    def iter_employees(self, *, max_pages: int = DEFAULT_MAX_PAGES) -> AsyncIterator[Employee]:
        return self._iterate(self.get_employee_list, max_pages)

    # --- paging -------------------------------------------------------------------------------

    async def _iterate(self, get_page: Callable[[int], Any], max_pages: int) -> AsyncIterator[Any]:
        """Rows of pages 0, 1, … until a short page, a page repeating the previous one (a
        server that ignores ``page``), or ``max_pages`` pages."""
        previous: list[int] | None = None
        for page in range(max(0, max_pages)):
            rows = await get_page(page)
            ids = [row.id for row in rows]
            if ids and ids == previous:
                logger.warning("mobiforce: page %d repeats page %d, stopping", page, page - 1)
                return
            previous = ids
            for row in rows:
                yield row
            if len(rows) < PAGE_SIZE:
                return
        logger.info("mobiforce: stopped after %d pages (max_pages)", max_pages)

    # --- the one place that talks HTTP ------------------------------------------------------------

    async def _request(
        self,
        command: str,
        *,
        query: Query | None = None,
        body: Any = None,
        parse: Callable[[Any], T],
    ) -> T:
        self.stats.calls[command] += 1
        try:
            payload = await self._send_with_retries(command, dict(query or {}), body)
            try:
                return parse(payload)
            except (ValidationError, ValueError, TypeError) as exc:
                count = exc.error_count() if isinstance(exc, ValidationError) else 1
                raise MobiforceBadAnswer(
                    f"{command}: answer does not match the documented format ({count} errors)",
                    command=command,
                ) from None
        except MobiforceError:
            self.stats.errors[command] += 1
            raise

    async def _send_with_retries(self, command: str, query: dict[str, Any], body: Any) -> Any:
        return await self._retrying(
            command,
            lambda: self._send_once(command, query, body),
            read=COMMANDS[command].kind is Kind.READ,
        )

    async def _send_once(self, command: str, query: dict[str, Any], body: Any) -> Any:
        if self.auth_locked:
            raise MobiforceDisabled(
                f"{command}: not called, the key was rejected earlier",
                code="AUTH_LOCKED",
                command=command,
            )
        await self._acquire_budget(command)
        response = await self._transport(command, query, body)
        logger.debug(
            "mobiforce %s %s -> HTTP %s",
            response.request.method,
            redact_url(response.request.url),
            response.status_code,
        )
        return self._payload(command, response)

    async def _transport(self, command: str, query: dict[str, Any], body: Any) -> httpx.Response:
        """Send one request. httpx errors become :class:`MobiforceUnavailable`, raised outside
        the ``except`` block on purpose: the httpx exception (whose request holds the key in a
        header) must not ride along as ``__context__`` into a traceback."""
        spec = COMMANDS[command]
        url = self._base_url + spec.path
        try:
            if spec.kind is Kind.READ:
                return await self._http.get(url, params=query)
            content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
            return await self._http.post(
                url,
                params=query,
                content=content,
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.TimeoutException:
            reason = f"timed out after {self._timeout}s"
        except httpx.HTTPError as exc:
            reason = f"network error {type(exc).__name__}: {self._redact(str(exc))}"
        logger.warning("mobiforce %s: %s", command, reason)
        raise MobiforceUnavailable(f"{command}: {reason}", command=command, retryable=True)

    def _payload(self, command: str, response: httpx.Response) -> Any:
        status = response.status_code
        payload = wire.parse_json(response.content)
        if status in (400, 401) or (status == 200 and wire.looks_like_error(payload)):
            error_status = status if status != 200 else 400
            raise self._vendor_error(
                command, error_status, payload if isinstance(payload, dict) else {}
            )
        if status >= 300:
            logger.warning("mobiforce %s: HTTP %s", command, status)
            raise MobiforceUnavailable(
                f"{command}: HTTP {status}",
                code=status,
                command=command,
                http_status=status,
                retryable=status >= 500,
            )
        if payload is wire.NOT_JSON:
            logger.warning("mobiforce %s: answer is not JSON (HTTP %s)", command, status)
            raise MobiforceUnavailable(
                f"{command}: answer is not JSON", command=command, retryable=True
            )
        return payload

    def _vendor_error(
        self, command: str, status: int, payload: Mapping[str, Any]
    ) -> MobiforceError:
        error = error_from_response(command, status, payload)
        if isinstance(error, MobiforceAuthError):
            self.lock_auth()
            logger.error(
                "mobiforce %s: key rejected (HTTP 401 %s); no further calls until "
                "reset_auth_lock()",
                command,
                self._redact(error.vendor_text) or error.code,
            )
        else:
            logger.info(
                "mobiforce %s: HTTP %s code %s %s",
                command,
                status,
                error.code,
                self._redact(error.vendor_text),
            )
        return error

    def _budget_spent(self, command: str) -> MobiforceLimitExceeded:
        return MobiforceLimitExceeded(
            f"{command}: client-side budget of {self._per_minute} requests/minute spent",
            code="CLIENT_BUDGET",
            command=command,
        )
