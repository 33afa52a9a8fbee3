"""/me: who the token is, their role, and their calendar feed's address."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from pydantic import Field

from ciclo.accounts.roles import role_of
from ciclo.api.auth import user_of
from ciclo.api.schemas import AUTH, TokenUser, responses
from ciclo.reminders.feeds import feed_path

router = Router()


class MeOut(TokenUser):
    calendar_url: str | None = Field(
        description="The address of your calendar feed (iCalendar) for a calendar application; it is a secret. "
        "Null when you turned it off (make a new one on your profile page)."
    )


@router.get("", response=responses({200: MeOut}, AUTH), summary="The token's user, role and calendar feed")
def me(request: HttpRequest) -> dict[str, Any]:
    user = user_of(request)
    role = role_of(user)
    path = feed_path(user)
    return {
        "id": user.pk,
        "username": user.get_username(),
        "role": role.value if role else None,
        "calendar_url": request.build_absolute_uri(path) if path else None,
    }
