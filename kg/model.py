"""The extracted content of a guide, before it becomes RDF.

Children of a category keep document order and may mix fields and
sub-categories, e.g. 设备状态数据（运行参数、性能指标：温度、湿度…；精度数据等）
is a category whose children are the field 运行参数, the sub-category 性能指标
(with its fields) and the field 精度数据.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DataField:
    label: str

    def to_plain(self) -> Any:
        return self.label


@dataclass
class DataCategory:
    label: str
    qualifier: str | None = None
    children: list[DataCategory | DataField] = field(default_factory=list)

    @property
    def fields(self) -> list[DataField]:
        return [c for c in self.children if isinstance(c, DataField)]

    def to_plain(self) -> dict[str, Any]:
        """The plain-data form used by the golden file (tests/golden/extraction.yaml)."""
        out: dict[str, Any] = {"category": self.label}
        if self.qualifier:
            out["qualifier"] = self.qualifier
        if self.children:
            out["items"] = [c.to_plain() for c in self.children]
        return out


@dataclass
class Scenario:
    number: int
    domain: str  # the domain's Chinese label as in the document, e.g. 工业领域
    name: str
    application: str
    data_text: str  # the 涉及数据 cell, verbatim (docx artifacts removed)
    line: int | None  # text source: line of the row's number cell (dip:sourceLine)
    cell: str | None = (
        None  # .docx source: the number cell, table=T;row=R;column=C (dip:sourceCell)
    )
    example: str | None = None
    categories: list[DataCategory] = field(default_factory=list)

    def to_plain(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number,
            "domain": self.domain,
            "name": self.name,
        }
        if self.example:
            out["example"] = self.example
        out["categories"] = [c.to_plain() for c in self.categories]
        return out


@dataclass
class Guide:
    """One source document: one batch of one province's scenario guidance."""

    id: str
    source_path: str  # as shown in messages, relative to the project
    scenarios: list[Scenario] = field(default_factory=list)
