"""The HTTP answer of an idempotent request (services/intake.py `idempotent`): the first answer's body, which an
output serializer rendered (OrderCreatedOut, OrderStatusOut) and the service kept, with its status."""

from __future__ import annotations

from rest_framework.response import Response

from ..services.intake import Reply


def reply(r: Reply) -> Response:
    return Response(r.body, status=r.status, headers={"Idempotent-Replayed": "true"} if r.replayed else None)
