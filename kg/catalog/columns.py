"""The columns of the two CSV tables: name, titles (zh, en), CSVW datatype and CSVW extras.

One list per table, read by the CSV and XLSX writers (kg/catalog/tables.py), the CSVW
metadata (kg/catalog/csvw.py) and the Chinese record's 信息项 (kg/catalog_cn.py). Existing
columns keep their places; new ones are appended.
"""

from __future__ import annotations

from typing import Any

from dipkg.core.iris import DIP
from kg.catalog.namespaces import DCT, RDF, RDFS, SCHEMA

#: Values in a column that holds several (the broader data kinds); the CSVW ``separator``.
SEPARATOR = " | "

# (name, title zh, title en, datatype, csvw column extras)
Column = tuple[str, str, str, str, dict[str, Any]]


def scenario_columns(base: str) -> list[Column]:
    label = RDFS + "label"
    return [
        ("scenario_iri", "场景 IRI", "Scenario IRI", "anyURI", {"suppressOutput": True}),
        ("number", "序号", "Number", "integer", {"propertyUrl": DIP + "number"}),
        (
            "scenario_zh",
            "场景名称",
            "Scenario name (Chinese)",
            "string",
            {"propertyUrl": label, "lang": "zh"},
        ),
        (
            "scenario_en",
            "场景名称（英文）",
            "Scenario name (English)",
            "string",
            {"propertyUrl": label, "lang": "en"},
        ),
        (
            "domain_iri",
            "领域 IRI",
            "Domain IRI",
            "anyURI",
            {"propertyUrl": DIP + "domain", "valueUrl": "{+domain_iri}"},
        ),
        (
            "domain_zh",
            "领域",
            "Domain (Chinese)",
            "string",
            {"aboutUrl": "{+domain_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "domain_en",
            "领域（英文）",
            "Domain (English)",
            "string",
            {"aboutUrl": "{+domain_iri}", "propertyUrl": label, "lang": "en"},
        ),
        (
            "example_zh",
            "示例情境",
            "Example context (Chinese)",
            "string",
            {"propertyUrl": DIP + "exampleContext", "lang": "zh"},
        ),
        (
            "example_en",
            "示例情境（英文）",
            "Example context (English)",
            "string",
            {"propertyUrl": DIP + "exampleContext", "lang": "en"},
        ),
        (
            "application_zh",
            "场景应用",
            "Application (Chinese)",
            "string",
            {"propertyUrl": DIP + "application", "lang": "zh"},
        ),
        (
            "application_en",
            "场景应用（英文）",
            "Application (English)",
            "string",
            {"propertyUrl": DIP + "application", "lang": "en"},
        ),
        (
            "data_text_zh",
            "涉及数据",
            "Data involved, verbatim (Chinese)",
            "string",
            {"propertyUrl": DIP + "dataText", "lang": "zh"},
        ),
        (
            "data_text_en",
            "涉及数据（英文）",
            "Data involved (English translation)",
            "string",
            {"propertyUrl": DIP + "dataText", "lang": "en"},
        ),
        (
            "source_iri",
            "来源文件 IRI",
            "Source document IRI",
            "anyURI",
            {"propertyUrl": DCT + "source", "valueUrl": "{+source_iri}"},
        ),
        ("source_line", "来源行号", "Source line", "integer", {"propertyUrl": DIP + "sourceLine"}),
        (
            "source_cell",
            "来源单元格",
            "Source cell (.docx)",
            "string",
            {"propertyUrl": DIP + "sourceCell"},
        ),
    ]


def item_columns(base: str) -> list[Column]:
    label = RDFS + "label"
    return [
        ("item_iri", "数据项 IRI", "Data item IRI", "anyURI", {"suppressOutput": True}),
        (
            "kind",
            "类型",
            "Kind",
            "string",
            {"propertyUrl": RDF + "type", "valueUrl": DIP + "{kind}"},
        ),
        ("path", "位置路径", "Position path", "string", {"suppressOutput": True}),
        (
            "scenario_iri",
            "场景 IRI",
            "Scenario IRI",
            "anyURI",
            {"propertyUrl": DIP + "scenario", "valueUrl": "{+scenario_iri}"},
        ),
        ("scenario_number", "场景序号", "Scenario number", "integer", {"suppressOutput": True}),
        (
            "scenario_zh",
            "场景名称",
            "Scenario name (Chinese)",
            "string",
            {"aboutUrl": "{+scenario_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "scenario_en",
            "场景名称（英文）",
            "Scenario name (English)",
            "string",
            {"aboutUrl": "{+scenario_iri}", "propertyUrl": label, "lang": "en"},
        ),
        (
            "domain_iri",
            "领域 IRI",
            "Domain IRI",
            "anyURI",
            {
                "aboutUrl": "{+scenario_iri}",
                "propertyUrl": DIP + "domain",
                "valueUrl": "{+domain_iri}",
            },
        ),
        (
            "domain_zh",
            "领域",
            "Domain (Chinese)",
            "string",
            {"aboutUrl": "{+domain_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "domain_en",
            "领域（英文）",
            "Domain (English)",
            "string",
            {"aboutUrl": "{+domain_iri}", "propertyUrl": label, "lang": "en"},
        ),
        ("category_iri", "数据类别 IRI", "Category IRI", "anyURI", {"suppressOutput": True}),
        (
            "category_zh",
            "数据类别",
            "Category (Chinese)",
            "string",
            {"aboutUrl": "{+category_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "category_en",
            "数据类别（英文）",
            "Category (English)",
            "string",
            {"aboutUrl": "{+category_iri}", "propertyUrl": label, "lang": "en"},
        ),
        ("subcategory_iri", "子类别 IRI", "Sub-category IRI", "anyURI", {"suppressOutput": True}),
        (
            "subcategory_zh",
            "子类别",
            "Sub-category (Chinese)",
            "string",
            {"aboutUrl": "{+subcategory_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "subcategory_en",
            "子类别（英文）",
            "Sub-category (English)",
            "string",
            {"aboutUrl": "{+subcategory_iri}", "propertyUrl": label, "lang": "en"},
        ),
        (
            "field_zh",
            "数据项",
            "Field (Chinese)",
            "string",
            {"aboutUrl": "{+field_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "field_en",
            "数据项（英文）",
            "Field (English)",
            "string",
            {"aboutUrl": "{+field_iri}", "propertyUrl": label, "lang": "en"},
        ),
        ("field_iri", "数据项字段 IRI", "Field IRI", "anyURI", {"suppressOutput": True}),
        (
            "parent_iri",
            "上级 IRI",
            "Parent IRI",
            "anyURI",
            {"propertyUrl": DCT + "isPartOf", "valueUrl": "{+parent_iri}"},
        ),
        ("position", "位置", "Position", "integer", {"propertyUrl": SCHEMA + "position"}),
        # appended (existing columns keep their places): the item's data kind and its PI flags
        (
            "data_kind_iri",
            "数据种类 IRI",
            "Data kind IRI",
            "anyURI",
            {"propertyUrl": DIP + "dataKind", "valueUrl": "{+data_kind_iri}"},
        ),
        (
            "data_kind_zh",
            "数据种类",
            "Data kind (Chinese)",
            "string",
            {"aboutUrl": "{+data_kind_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "data_kind_en",
            "数据种类（英文）",
            "Data kind (English)",
            "string",
            {"aboutUrl": "{+data_kind_iri}", "propertyUrl": label, "lang": "en"},
        ),
        (
            "broader_kind_iri",
            "上位数据种类 IRI",
            "Broader data kind IRI",
            "anyURI",
            {"suppressOutput": True, "separator": SEPARATOR},
        ),
        (
            "broader_kind_zh",
            "上位数据种类",
            "Broader data kind (Chinese)",
            "string",
            {"suppressOutput": True, "separator": SEPARATOR, "lang": "zh"},
        ),
        (
            "broader_kind_en",
            "上位数据种类（英文）",
            "Broader data kind (English)",
            "string",
            {"suppressOutput": True, "separator": SEPARATOR, "lang": "en"},
        ),
        (
            "personal_information",
            "个人信息",
            "Personal information",
            "boolean",
            {"suppressOutput": True},
        ),
        (
            "sensitive",
            "敏感个人信息",
            "Sensitive personal information",
            "boolean",
            {"suppressOutput": True},
        ),
        (
            "sensitive_category_iri",
            "敏感个人信息类别 IRI",
            "Sensitive category IRI",
            "anyURI",
            {
                "aboutUrl": "{+data_kind_iri}",
                "propertyUrl": DIP + "sensitiveCategory",
                "valueUrl": "{+sensitive_category_iri}",
            },
        ),
        (
            "sensitive_category_zh",
            "敏感个人信息类别",
            "Sensitive category (Chinese)",
            "string",
            {"aboutUrl": "{+sensitive_category_iri}", "propertyUrl": label, "lang": "zh"},
        ),
        (
            "sensitive_category_en",
            "敏感个人信息类别（英文）",
            "Sensitive category (English)",
            "string",
            {"aboutUrl": "{+sensitive_category_iri}", "propertyUrl": label, "lang": "en"},
        ),
    ]
