"""Vision: face-recognition consent and enrolment, known plates.

The vision service (``vision.service.VisionService``) is a separate plugin: found
through ``hub.service`` when asked, 503 when it is not running.  Face data never
leaves these calls: enrolment answers with a count, never with an embedding.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import Field

from store_api.auth import AUTH_RESPONSES, FORBIDDEN, Admin, Api, Responses, Staff
from store_api.models import In, Out, Problem

router = APIRouter(
    prefix="/vision",
    tags=["vision"],
    responses={
        **AUTH_RESPONSES,
        503: {"model": Problem, "description": "The vision service is not running"},
    },
)

Member = Annotated[str, Path(description="The member id", min_length=1, max_length=64)]
PlatePath = Annotated[str, Path(description="A licence plate, e.g. 粤B12345")]
CONFLICT: Responses = {
    **FORBIDDEN,
    409: {"model": Problem, "description": "The member has no active consent"},
}


class ConsentIn(In):
    member: str = Field(min_length=1, max_length=64)
    text_version: str = Field(min_length=1, max_length=64, examples=["face-v1"])
    channel: str = Field(default="counter", max_length=32, examples=["counter", "kiosk", "app"])


class ConsentOut(Out):
    id: int
    member: str
    purpose: str
    text_version: str
    granted: float
    granted_by: str
    channel: str
    withdrawn: float | None
    withdrawn_by: str | None


class WithdrawOut(Out):
    member: str
    deleted: int = Field(description="Face embeddings deleted with the withdrawal")


class EnrolIn(In):
    images: list[str] = Field(
        min_length=1, max_length=5, description="Base64 JPEG/PNG photos, one face in each"
    )


class EnrolOut(Out):
    member: str
    embeddings: int


class PlateIn(In):
    member: str | None = None
    label: str | None = Field(default=None, max_length=100)
    tier: str | None = Field(default=None, max_length=32, examples=["vip"])
    account_manager: str | None = Field(default=None, max_length=64)


class PlateOut(Out):
    plate: str
    member: str | None
    label: str | None
    tier: str | None
    account_manager: str | None
    added: float


def _vision(api: Api) -> Any:
    try:
        from vision.service import VisionService
    except ModuleNotFoundError:
        raise HTTPException(503, "vision is not installed") from None
    service = api.hub.service(VisionService)
    if service is None:
        raise HTTPException(503, "vision service not running")
    return service


def _errors(exc: Exception) -> HTTPException:
    from vision.errors import ConsentError, ImageError, NoFace, VisionError

    if isinstance(exc, ConsentError):
        return HTTPException(409, str(exc))
    if isinstance(exc, ImageError | NoFace | VisionError):
        return HTTPException(422, str(exc))
    raise exc


@router.post("/consents", response_model=ConsentOut, status_code=201, responses=FORBIDDEN)
async def grant_consent(api: Api, who: Staff, body: ConsentIn) -> ConsentOut:
    """Record a member's separate consent to face recognition (who, when, which text).
    The recording token's name is kept as `granted_by`. Scope: staff."""
    consent = await _vision(api).faces.grant(
        body.member, text_version=body.text_version, by=who.name, channel=body.channel
    )
    return ConsentOut.model_validate(consent.model_dump())


@router.get("/consents", response_model=list[ConsentOut], responses=FORBIDDEN)
async def list_consents(
    api: Api, _who: Staff, member: Annotated[str | None, Query()] = None
) -> list[ConsentOut]:
    """Consent records, withdrawn ones included (the proof of what was agreed). Scope: staff."""
    return [
        ConsentOut.model_validate(c.model_dump()) for c in await _vision(api).faces.consents(member)
    ]


@router.delete("/consents/{member}", response_model=WithdrawOut, responses=FORBIDDEN)
async def withdraw_consent(api: Api, who: Staff, member: Member) -> WithdrawOut:
    """Withdraw the consent; the member's face embeddings are deleted at once. Scope: staff."""
    deleted = await _vision(api).faces.withdraw(member, by=who.name)
    return WithdrawOut(member=member, deleted=deleted)


@router.post("/faces/{member}", response_model=EnrolOut, status_code=201, responses=CONFLICT)
async def enrol(api: Api, _who: Staff, member: Member, body: EnrolIn) -> EnrolOut:
    """Enrol a member from photos (exactly one face each). Needs their active consent
    (409 otherwise, and the photos are not looked at); 422 for a photo without exactly one
    face. Embeddings are stored encrypted; nothing biometric is returned. Scope: staff."""
    try:
        images = [base64.b64decode(i, validate=True) for i in body.images]
    except (binascii.Error, ValueError):
        raise HTTPException(422, "images must be base64") from None
    try:
        n = await _vision(api).faces.enrol(member, images)
    except Exception as exc:
        raise _errors(exc) from None
    return EnrolOut(member=member, embeddings=n)


@router.get("/plates", response_model=list[PlateOut], responses=FORBIDDEN)
async def list_plates(api: Api, _who: Staff) -> list[PlateOut]:
    """Known plates (members' cars). Scope: staff."""
    plates = sorted(_vision(api).plates, key=lambda p: p.plate)
    return [PlateOut.model_validate(p.model_dump()) for p in plates]


@router.put("/plates/{plate}", response_model=PlateOut, responses=FORBIDDEN)
async def put_plate(api: Api, _who: Admin, plate: PlatePath, body: PlateIn) -> PlateOut:
    """Add or update a known plate (normalised: `粤b·12345` is `粤B12345`); 422 when it is
    not a Chinese mainland plate. Scope: admin."""
    try:
        known = await _vision(api).add_plate(plate, **body.model_dump())
    except Exception as exc:
        raise _errors(exc) from None
    return PlateOut.model_validate(known.model_dump())


@router.delete("/plates/{plate}", status_code=204, responses=FORBIDDEN)
async def delete_plate(api: Api, _who: Admin, plate: PlatePath) -> None:
    """Forget a known plate. Scope: admin."""
    try:
        removed = await _vision(api).remove_plate(plate)
    except Exception as exc:
        raise _errors(exc) from None
    if not removed:
        raise HTTPException(404, f"plate {plate!r} is not known")
