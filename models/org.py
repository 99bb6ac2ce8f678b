"""Offices and handling units in one hierarchy: province, city, county; departments beside them."""

from __future__ import annotations

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel


class OrgBase(SQLModel):
    # Hierarchical ASCII code: the prefix names the region (GS, GS-LZ, GS-LZ-CG, GS-LZ-CG-ZJJ).
    code: str = Field(sa_column=Column(String(40), unique=True, nullable=False, index=True))
    name: str = Field(max_length=120)
    kind: str = Field(max_length=16)  # office | government | department | bureau | commission
    level: str = Field(max_length=16, index=True)  # province | city | county
    region_name: str = Field(default="", max_length=60)
    email: str = Field(default="", max_length=200)
    head_email: str = Field(default="", max_length=200)  # its top official (主要负责同志): 重要工作提示
    # The same-level government's leader in charge of this org (同级政府分管领导): 抄告.
    leader_email: str = Field(default="", max_length=200)
    autonomous: bool = False


class Org(OrgBase, table=True):
    __tablename__ = "orgs"

    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="orgs.id", index=True)


class OrgPublic(OrgBase):
    id: int
    parent_id: int | None
