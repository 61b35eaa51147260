"""Who carries out a confirmed request of each type: one explicit table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from headpix.privacy import erasure, export, objection, rectification, restriction
from headpix.privacy.requests import RequestType
from headpix.services import Services

Handler = Callable[[Services, str, datetime], None]

HANDLERS: dict[RequestType, Handler] = {
    RequestType.access: export.export_data,
    RequestType.portability: export.export_data,
    RequestType.rectification: rectification.rectify,
    RequestType.restriction: restriction.place,
    RequestType.objection: objection.object_to_marketing,
    RequestType.erasure: erasure.handle_erasure,
}
