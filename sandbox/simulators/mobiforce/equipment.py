"""Equipment in the simulator: equipment models and pieces of equipment owned by clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.simulators.mobiforce.state import Json, bad_request, not_found, unix_text
from sandbox.simulators.mobiforce.world import AUTHOR, World, body_dict, id_param, page_of, ref_id


@dataclass
class SimEquipmentModel:
    id: int
    name: str
    type_id: str = ""
    manufacture_id: str = ""
    deleted: bool = False


@dataclass
class SimEquipment:
    id: int
    serial_number: str
    created_at: datetime
    model_id: int = 0
    contractor_id: int = 0
    props: list[Json] = field(default_factory=list)
    deleted: bool = False


class EquipmentDesk:
    """The equipment commands of one simulated account."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.models: dict[int, SimEquipmentModel] = {}
        self.pieces: dict[int, SimEquipment] = {}
        world.equipment_count = self.count_for

    def count_for(self, contractor_id: int) -> int:
        return sum(
            1 for p in self.pieces.values() if p.contractor_id == contractor_id and not p.deleted
        )

    # --- models and pieces ----------------------------------------------------------------------

    def equipment_model(self, model_id: int) -> SimEquipmentModel:
        found = self.models.get(model_id)
        if found is None or found.deleted:
            raise not_found("Модель оборудования", model_id)
        return found

    def create_equipment_model(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        if not data.get("name"):
            raise bad_request("Не задано наименование модели")
        model = SimEquipmentModel(
            self.world.new_id(),
            str(data["name"]),
            str(ref_id(data.get("type")) or ""),
            str(ref_id(data.get("manufacture")) or ""),
        )
        self.models[model.id] = model
        return {"id": model.id}

    def update_equipment_model(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        model = self.equipment_model(id_param(query))
        data = body_dict(body)
        if data.get("name"):
            model.name = str(data["name"])
        return {"id": model.id}

    def get_equipment_model_list(
        self, query: dict[str, str], body: Any, now: datetime
    ) -> list[Json]:
        models = self.world.live(self.models.values())
        return page_of(query, [{"id": str(m.id), "name": m.name} for m in models])

    def delete_equipment_model(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        model = self.equipment_model(id_param(query))
        model.deleted = True
        return {"id": model.id}

    def piece(self, equipment_id: int) -> SimEquipment:
        found = self.pieces.get(equipment_id)
        if found is None or found.deleted:
            raise not_found("Оборудование", equipment_id)
        return found

    def _apply_equipment(self, piece: SimEquipment, data: Json) -> None:
        if data.get("serialNumber"):
            piece.serial_number = str(data["serialNumber"])
        if data.get("model"):
            piece.model_id = self.equipment_model(ref_id(data["model"])).id
        if data.get("contractor"):
            piece.contractor_id = self.world.contractor(ref_id(data["contractor"])).id
        if isinstance(data.get("props"), list):
            piece.props = [p for p in data["props"] if isinstance(p, dict)]

    def create_equipment(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        data = body_dict(body)
        if not data.get("serialNumber"):
            raise bad_request("Не задан серийный номер")
        piece = SimEquipment(self.world.new_id(), str(data["serialNumber"]), now)
        self._apply_equipment(piece, data)
        self.pieces[piece.id] = piece
        return {"id": piece.id}

    def update_equipment(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        piece = self.piece(id_param(query))
        self._apply_equipment(piece, body_dict(body))
        return {"id": piece.id}

    def get_equipment(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        piece = self.piece(id_param(query))
        owner = self.world.contractors.get(piece.contractor_id)
        model = self.models.get(piece.model_id)
        return {
            "id": str(piece.id),
            "createdAt": unix_text(piece.created_at),
            "author": AUTHOR,
            "employee": "0",
            "externalId": "",
            "name": piece.serial_number,
            "inventoryNumber": "",
            "description": f"{model.name if model else ''} с/н {piece.serial_number}".strip(),
            "contractor": (
                {"id": str(owner.id), "name": owner.name, **owner.address.to_json()}
                if owner
                else None
            ),
            "equipmentModel": (
                {"id": str(model.id), "name": model.name, "manufacture": {}, "type": {}}
                if model
                else None
            ),
            "equipmentFieldValues": piece.props,
        }

    def get_equipment_list(self, query: dict[str, str], body: Any, now: datetime) -> list[Json]:
        pieces = self.world.live(self.pieces.values())
        return page_of(query, [{"id": str(p.id), "name": p.serial_number} for p in pieces])

    def delete_equipment(self, query: dict[str, str], body: Any, now: datetime) -> Json:
        piece = self.piece(id_param(query))
        piece.deleted = True
        return {"id": piece.id}
