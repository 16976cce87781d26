"""Mobiforce's router: every command, wizard step and button of the service."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.policy import rule
from handlers.mobiforce import create_task as creating
from handlers.mobiforce import new_task as wizard
from handlers.mobiforce import task_fields as fields
from handlers.mobiforce.callbacks import ClientCb, CreateCb, NewTaskCb, TaskCb, TasksPageCb
from handlers.mobiforce.clients import client, client_pressed, clients, employees
from handlers.mobiforce.close import check_pressed, close, close_pressed
from handlers.mobiforce.flows import CommentFlow, NewTaskFlow
from handlers.mobiforce.tasks import (
    card_pressed,
    comment,
    comment_pressed,
    comment_typed,
    list_tasks,
    task_command,
    tasks_page_pressed,
)

NEW = rule(wizard.RULE)


def make_router() -> Router:
    router = Router(name="mobiforce")
    typed = F.text & ~F.text.startswith("/")
    message, button = router.message.register, router.callback_query.register

    message(task_command, Command("task"), flags=rule("task"))
    message(list_tasks, Command("tasks"), flags=rule("tasks"))
    message(comment, Command("comment"), flags=rule("comment"))
    message(close, Command("close"), flags=rule("close"))
    message(clients, Command("clients"), flags=rule("clients"))
    message(client, Command("client"), flags=rule("client"))
    message(employees, Command("employees"), flags=rule("employees"))

    button(
        card_pressed,
        TaskCb.filter(F.action.in_({"show", "refresh"})),
        flags=rule("button.mobiforce_task"),
    )
    button(
        comment_pressed, TaskCb.filter(F.action == "comment"), flags=rule("button.mobiforce_change")
    )
    button(close_pressed, TaskCb.filter(F.action == "close"), flags=rule("button.mobiforce_change"))
    button(
        check_pressed, TaskCb.filter(F.action == "closechk"), flags=rule("button.mobiforce_change")
    )
    message(comment_typed, CommentFlow.text, typed, flags=rule("comment"))
    button(tasks_page_pressed, TasksPageCb.filter(), flags=rule("button.mobiforce_tasks_page"))
    button(client_pressed, ClientCb.filter(), flags=rule("button.mobiforce_client"))

    # /task new
    flow = NewTaskFlow
    message(wizard.template_typed, flow.template, typed, flags=NEW)
    message(wizard.executor_typed, flow.executor, typed, flags=NEW)
    message(wizard.client_typed, flow.client, typed, flags=NEW)
    message(wizard.client_name_typed, flow.client_name, typed, flags=NEW)
    message(wizard.client_address_typed, flow.client_address, typed, flags=NEW)
    message(wizard.client_phone_typed, flow.client_phone, typed, flags=NEW)
    message(wizard.address_typed, flow.address, typed, flags=NEW)
    message(wizard.start_typed, flow.start, typed, flags=NEW)
    message(fields.field_typed, flow.field, typed, flags=NEW)
    steps = (
        (wizard.template_picked, flow.template, "tpl"),
        (wizard.page_turned, flow.template, "tplpg"),
        (wizard.page_turned, flow.executor, "exepg"),
        (wizard.client_picked, flow.client, "cli"),
        (wizard.new_client_pressed, flow.client, "newcli"),
        (wizard.client_phone_skipped, flow.client_phone, "nophone"),
        (wizard.client_address_pressed, flow.address, "cliaddr"),
        (wizard.executor_picked, flow.executor, "exe"),
        (wizard.executor_picked, flow.executor, "noexe"),
        (wizard.day_pressed, flow.start, "day"),
        (fields.value_pressed, flow.field, "val"),
    )
    for handler, state, step in steps:
        button(handler, state, NewTaskCb.filter(F.step == step), flags=NEW)
    button(wizard.stale_button, NewTaskCb.filter(), flags=NEW)
    # after a create whose answer was lost
    button(creating.retry_pressed, CreateCb.filter(F.act == "retry"), flags=NEW)
    button(creating.drop_pressed, CreateCb.filter(F.act == "drop"), flags=NEW)
    return router
