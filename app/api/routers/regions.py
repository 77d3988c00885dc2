from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import select

from app.api.auth import require_scope
from app.api.deps import SessionDep
from app.api.schemas import CollaborationOut, RegionOut
from app.db.models import Collaboration, CollaborationMember, Region

router = APIRouter(prefix="/api/v1", tags=["regions"], dependencies=[Depends(require_scope("read"))])


def _members(session: SessionDep) -> list[tuple[str, str]]:
    return list(
        session.execute(select(CollaborationMember.collaboration_code, CollaborationMember.region_code)).all()
    )


@router.get("/regions", response_model=list[RegionOut], summary="The 21 regions")
def list_regions(session: SessionDep) -> list[RegionOut]:
    memberships: dict[str, list[str]] = {}
    for collab, region in _members(session):
        memberships.setdefault(region, []).append(collab)
    return [
        RegionOut(code=r.code, name=r.name, collaborations=sorted(memberships.get(r.code, [])))
        for r in session.scalars(select(Region).order_by(Region.code))
    ]


@router.get("/collaborations", response_model=list[CollaborationOut], summary="Collaborations and their regions")
def list_collaborations(session: SessionDep) -> list[CollaborationOut]:
    regions: dict[str, list[str]] = {}
    for collab, region in _members(session):
        regions.setdefault(collab, []).append(region)
    return [
        CollaborationOut(code=c.code, name=c.name, regions=sorted(regions.get(c.code, [])))
        for c in session.scalars(select(Collaboration).order_by(Collaboration.code))
    ]
