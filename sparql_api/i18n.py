"""Chinese and English for the pages: the language choice and the interface strings.

The language of a page is, in this order: ``?lang=zh|en`` (the visible switch;
nothing is remembered server-side), else the best of ``Accept-Language``
(q-values honoured, ``zh-CN``/``zh-Hans`` count as ``zh``), else Chinese, the
source language. A label missing in the chosen language falls back to Chinese,
then English, then any label — never a random one.

Over 400 lines because most of it is one table (``STRINGS``: every interface string
in both languages), which is easier to translate and check kept in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from markupsafe import Markup, escape

from dipkg.core.search_index import IS_CJK

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
HTML_LANG = {"zh": "zh-Hans", "en": "en"}


def text_lang(text: str) -> str:
    """The ``lang`` attribute of a piece of text whose language is not recorded (an
    example, a name a search matched): Chinese when it holds a Chinese character, else
    English, so a Chinese word on an English page is not spoken as English."""
    return HTML_LANG["zh" if IS_CJK.search(text) else "en"]


#: a run of Chinese in other text: a Chinese character, then Chinese characters and CJK or
#: full-width punctuation (、，（）“”)
_ZH_RUN = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
    "[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]*"
)


def mark_zh(text: str) -> Markup:
    """English ``text`` (escaped) with its Chinese runs marked ``lang="zh-Hans"``: "Source
    cell (涉及数据)", an ontology definition quoting 场景应用. Unmarked, a screen reader
    speaks them with the English voice (letter names or nothing)."""
    out, at = [], 0
    for run in _ZH_RUN.finditer(text):
        out.append(escape(text[at : run.start()]))
        out.append(Markup('<span lang="zh-Hans">%s</span>') % run.group())
        at = run.end()
    out.append(escape(text[at:]))
    return Markup("").join(out)


def parse_accept_language(header: str | None) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for index, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v.strip())
                except ValueError:
                    q = 0.0
        out.append((tag, q - index * 1e-6))  # equal q: the first listed wins
    return out


def choose_language(query_lang: str | None, accept_language: str | None) -> tuple[str, bool]:
    """The page language and whether it was asked for explicitly (``?lang=``)."""
    if query_lang:
        tag = query_lang.strip().lower().split("-")[0]
        if tag in LANGUAGES:
            return tag, True
    best: tuple[float, str] | None = None
    for tag, q in parse_accept_language(accept_language):
        primary = tag.split("-")[0]
        if q <= 0:
            continue
        if primary in LANGUAGES and (best is None or q > best[0]):
            best = (q, primary)
    return (best[1] if best else DEFAULT), False


def pick_language(tags: Iterable[str], lang: str) -> str | None:
    """The language tag :func:`pick` reads among ``tags``: ``lang``, else zh, else en, else
    the first whose primary subtag is ``lang`` (``en-GB``), else the first (by tag); None if
    there is none."""
    ordered = sorted(set(tags))
    for tag in (lang, "zh", "en"):
        if tag in ordered:
            return tag
    for tag in ordered:
        if tag.split("-")[0] == lang:
            return tag
    return ordered[0] if ordered else None


def pick(values: Mapping[str, str] | Iterable[tuple[str, str]], lang: str) -> str:
    """The value in ``lang``, else zh, else en, else the first (by language tag)."""
    table = dict(values.items() if isinstance(values, Mapping) else values)
    tag = pick_language(table, lang)
    return "" if tag is None else table[tag]


# --- interface strings ---------------------------------------------------------
STRINGS: dict[str, dict[str, str]] = {
    "site": {
        "zh": "数据知识产权应用场景知识图谱",
        "en": "Data IP application scenarios knowledge graph",
    },
    "skip": {"zh": "跳到正文", "en": "Skip to content"},
    "nav_home": {"zh": "首页", "en": "Home"},
    "nav_domains": {"zh": "领域", "en": "Domains"},
    "nav_query": {"zh": "查询", "en": "Query"},
    "nav_dumps": {"zh": "下载", "en": "Downloads"},
    "nav_ontology": {"zh": "本体", "en": "Ontology"},
    "nav_catalog": {"zh": "目录", "en": "Catalogue"},
    "nav_main": {"zh": "主导航", "en": "Main navigation"},
    "language": {"zh": "语言", "en": "Language"},
    "data_formats": {"zh": "本页数据", "en": "This page as data"},
    "iri": {"zh": "标识符 (IRI)", "en": "Identifier (IRI)"},
    "type": {"zh": "类型", "en": "Type"},
    "domain": {"zh": "领域", "en": "Domain"},
    "domains": {"zh": "领域", "en": "Domains"},
    "scenario": {"zh": "应用场景", "en": "Scenario"},
    "scenarios": {"zh": "应用场景", "en": "Scenarios"},
    "scenario_no": {"zh": "序号", "en": "No."},
    "application": {"zh": "场景应用", "en": "Application"},
    "example_context": {"zh": "示例情境", "en": "Example context"},
    "data_involved": {"zh": "涉及数据", "en": "Data involved"},
    "source_cell": {"zh": "涉及数据原文", "en": "Source cell (涉及数据, verbatim)"},
    "source_cell_en": {
        "zh": "涉及数据原文（英译）",
        "en": "Source cell (涉及数据), translated into English",
    },
    "source": {"zh": "来源", "en": "Source"},
    "source_line": {"zh": "源文件行号", "en": "Source line"},
    "source_docx_cell": {
        "zh": "Word 文档表格 {table} 第 {row} 行第 {column} 列",
        "en": "Word table {table}, row {row}, column {column}",
    },
    "category": {"zh": "数据类别", "en": "Data category"},
    "categories": {"zh": "数据类别", "en": "Data categories"},
    "field": {"zh": "数据字段", "en": "Data field"},
    "fields": {"zh": "数据字段", "en": "Data fields"},
    "subcategory": {"zh": "子类别", "en": "Sub-category"},
    "qualifier": {"zh": "限定语", "en": "Qualifier"},
    "data_kind": {"zh": "数据种类", "en": "Data kind"},
    "part_of": {"zh": "所属", "en": "Part of"},
    "used_by": {"zh": "使用该数据种类的数据项", "en": "Data items of this kind"},
    "in_category": {
        "zh": "属于该类敏感个人信息的数据项",
        "en": "Data items of this sensitive category",
    },
    "in_category_note": {
        "zh": "数据种类标为该类别的数据项（标出数据种类）。",
        "en": "The items whose data kind is in this category (with the kind).",
    },
    "used_by_note": {
        "zh": "包括下位数据种类的数据项（标出路径）。",
        "en": "Including the items of narrower kinds (with the path).",
    },
    "via_kind": {"zh": "经", "en": "via"},
    "used_by_first": {"zh": "此处列出前", "en": "Listed here: the first"},
    "nav_kinds": {"zh": "数据种类", "en": "Data kinds"},
    "nav_match": {"zh": "数据匹配", "en": "Match my data"},
    "search": {"zh": "搜索", "en": "Search"},
    "search_label": {
        "zh": "搜索应用场景、数据与数据种类",
        "en": "Search scenarios, data and data kinds",
    },
    "search_placeholder": {"zh": "搜索，如 温度", "en": "Search, e.g. temperature"},
    "search_go": {"zh": "搜索", "en": "Search"},
    "search_hints": {"zh": "可以试试", "en": "Try"},
    "search_hint_text": {
        "zh": "输入数据名称、场景名称或数据种类（中文或英文）：搜索会包括同义名称与下位数据种类。",
        "en": "Type a name of data, of a scenario or of a data kind, in Chinese or English: "
        "other names and narrower kinds count too.",
    },
    "search_none": {"zh": "没有找到结果", "en": "Nothing found"},
    "search_none_text": {
        "zh": "换一个词试试，或去掉筛选条件：",
        "en": "Try another word, or remove a filter:",
    },
    "search_none_plain": {"zh": "换一个词试试，例如：", "en": "Try another word, for example:"},
    "search_results": {"zh": "结果", "en": "Results"},
    "search_scenarios_only": {
        "zh": "只看涉及的应用场景（{n} 个）",
        "en": "Show only the scenarios involved ({n})",
    },
    "facets": {"zh": "筛选", "en": "Filter"},
    "facet_kind": {"zh": "资源类型", "en": "Kind of resource"},
    "facet_domain": {"zh": "领域", "en": "Domain"},
    "facet_pi": {"zh": "个人信息", "en": "Personal information"},
    "facet_clear": {"zh": "取消筛选", "en": "Remove filter"},
    "pi_yes": {"zh": "涉及个人信息", "en": "Personal information"},
    "pi_no": {"zh": "不涉及个人信息", "en": "No personal information"},
    "concept": {"zh": "数据种类", "en": "Data kind"},
    "also_called": {"zh": "又称", "en": "also"},
    "list_sep": {"zh": "、", "en": ", "},  # between the items of a list in running text
    "more_results": {"zh": "更多结果", "en": "More results"},
    "previous_results": {"zh": "上一页结果", "en": "Previous results"},
    "results_range": {
        "zh": "第 {first}–{last} 条，共 {total} 条",
        "en": "{first}–{last} of {total}",
    },
    "results_past_end": {
        "zh": "这一页已超出结果范围。",
        "en": "This page is past the last result.",
    },
    "as_json": {"zh": "JSON 格式", "en": "As JSON"},
    # a refused search or match on a Chinese page (find.py _said; English pages show the
    # error's own message)
    "find_too_long": {
        "zh": "输入过长：最多 {max} 个字符。",
        "en": "Too long: at most {max} characters.",
    },
    "find_too_many": {
        "zh": "数据名称过多：最多 {max} 个。",
        "en": "Too many names: at most {max}.",
    },
    "find_timeout": {
        "zh": "搜索超时：请换用更具体的词语后重试。",
        "en": "The search took too long: try more specific words.",
    },
    "find_no_search_index": {
        "zh": "此版本没有搜索索引，暂时无法搜索。",
        "en": "This release has no search index: searching is not available.",
    },
    "find_refused": {"zh": "无法按此条件搜索：", "en": "The search was refused: "},
    "find_bad_filter": {
        "zh": "无法按此条件搜索：筛选条件“{filter}”只可取以下值：{values}。",
        "en": "The search was refused: the filter “{filter}” takes one of: {values}.",
    },
    "match_title": {"zh": "哪些应用场景适合我的数据？", "en": "Which scenarios fit my data?"},
    "match_intro": {
        "zh": "填写您持有的数据名称（每行一个，或用 、，, 分隔，中英文均可），"
        "按涉及您数据的多少列出应用场景，并说明各场景还需要哪些数据。",
        "en": "Type the data you hold "
        "(one name a line, or separated by 、，, in Chinese or English): "
        "the scenarios are listed by how much of your data each involves, "
        "with what each still needs.",
    },
    "match_label": {"zh": "我持有的数据", "en": "The data I hold"},
    "match_go": {"zh": "匹配应用场景", "en": "Find scenarios"},
    "match_cta": {"zh": "按我持有的数据找应用场景", "en": "Find scenarios for the data I hold"},
    "match_understood": {"zh": "识别的数据种类", "en": "How your data was read"},
    "match_yours": {"zh": "您的数据", "en": "Your data"},
    "match_theirs": {"zh": "场景中的数据", "en": "In the scenario"},
    "match_why": {"zh": "匹配依据", "en": "Why"},
    "match_how": {"zh": "识别方式", "en": "Found by"},
    "match_unknown": {"zh": "未识别", "en": "not recognised"},
    "match_scenarios": {"zh": "匹配的应用场景", "en": "Matching scenarios"},
    "match_none": {"zh": "没有应用场景涉及这些数据。", "en": "No scenario involves this data."},
    "match_uses": {"zh": "涉及您的数据", "en": "uses of your data:"},
    "match_coverage": {"zh": "覆盖其数据种类", "en": "of its data kinds covered:"},
    "match_missing": {"zh": "该场景还需要", "en": "It also needs"},
    "how_label": {"zh": "数据种类名称", "en": "the kind's name"},
    "how_altLabel": {"zh": "数据种类的别名", "en": "another name of the kind"},
    "how_item": {"zh": "场景中数据项的名称", "en": "a data item's name"},
    "how_contains": {"zh": "包含数据种类名称", "en": "contains the kind's name"},
    "how_words": {"zh": "词语匹配", "en": "the words"},
    "how_partial": {"zh": "部分词语匹配", "en": "some of the words"},
    "rel_same": {"zh": "同一数据种类", "en": "the same kind"},
    "rel_narrower": {"zh": "场景需要其下位种类", "en": "it needs a narrower kind"},
    "rel_broader": {"zh": "场景需要其上位种类", "en": "it needs a broader kind"},
    "broader": {"zh": "上位概念", "en": "Broader"},
    "narrower": {"zh": "下位概念", "en": "Narrower"},
    "scheme": {"zh": "概念体系", "en": "Concept scheme"},
    "top_concepts": {"zh": "顶层概念", "en": "Top concepts"},
    "concepts": {"zh": "概念", "en": "Concepts"},
    "definition": {"zh": "定义", "en": "Definition"},
    "matches": {"zh": "对应外部概念", "en": "Matching concepts elsewhere"},
    "all_statements": {"zh": "全部陈述", "en": "All statements"},
    "show_statements": {"zh": "展开全部三元组", "en": "Show every triple"},
    "property": {"zh": "属性", "en": "Property"},
    "value": {"zh": "值", "en": "Value"},
    "counts": {"zh": "数据概况", "en": "At a glance"},
    "count_domains": {"zh": "个领域", "en": "domains"},
    "count_scenarios": {"zh": "个应用场景", "en": "scenarios"},
    "count_categories": {"zh": "个数据类别", "en": "data categories"},
    "count_fields": {"zh": "个数据字段", "en": "data fields"},
    "count_triples": {"zh": "条三元组", "en": "triples"},
    "use_data": {"zh": "使用数据", "en": "Use the data"},
    "downloads": {"zh": "下载", "en": "Downloads"},
    "downloads_text": {
        "zh": "完整数据集的 Turtle、JSON-LD、N-Triples 文件，场景表与数据项表（CSV、Excel），"
        "附 SHA-256 校验值。",
        "en": "The whole dataset as Turtle, JSON-LD and N-Triples, the scenarios and data "
        "items as tables (CSV, Excel), with SHA-256 checksums.",
    },
    "sparql_endpoint": {"zh": "SPARQL 查询端点", "en": "SPARQL endpoint"},
    "sparql_text": {"zh": "SPARQL 1.1 协议，只读。", "en": "SPARQL 1.1 Protocol, read-only."},
    "query_ui": {"zh": "查询界面", "en": "Query editor"},
    "query_ui_text": {
        "zh": "在浏览器中编写并运行 SPARQL，附示例查询。",
        "en": "Write and run SPARQL in the browser, with example queries.",
    },
    "catalog_record": {"zh": "目录记录", "en": "Catalogue record"},
    "publisher": {"zh": "发布者", "en": "Publisher"},
    "publisher_licence": {"zh": "发布者与许可", "en": "Publisher and licence"},
    "contact": {"zh": "联系方式", "en": "Contact"},
    "distributions": {"zh": "分发（下载与访问）", "en": "Distributions (downloads and access)"},
    "issued": {"zh": "发布日期", "en": "Issued"},
    "modified": {"zh": "更新日期", "en": "Modified"},
    "keywords": {"zh": "关键词", "en": "Keywords"},
    "source_datasets": {"zh": "来源文件", "en": "Source documents"},
    "not_stated": {"zh": "未说明", "en": "not stated"},
    "cn_record": {
        "zh": "政务信息资源目录记录",
        "en": "Chinese government resource-catalogue record",
    },
    "cn_record_text": {
        "zh": "按《政务信息资源目录编制指南（试行）》核心元数据编制，JSON 与 XLSX 两种形式。",
        "en": "The core metadata of China's national guide for government resource catalogues, "
        "as JSON and as an XLSX sheet.",
    },
    "void_description": {"zh": "VoID 描述", "en": "VoID description"},
    "catalog_data": {"zh": "完整目录记录（DCAT-AP 3）", "en": "The whole record (DCAT-AP 3)"},
    "catalog_text": {"zh": "DCAT-AP 与 VoID 描述。", "en": "DCAT-AP and VoID description."},
    "ontology": {"zh": "本体", "en": "Ontology"},
    "ontology_text": {
        "zh": "类与属性的中英文定义。",
        "en": "Classes and properties, defined in Chinese and English.",
    },
    "cite": {"zh": "来源文件", "en": "Source document"},
    "licence": {"zh": "许可协议", "en": "Licence"},
    "licence_text": {"zh": "本数据集以如下许可发布：", "en": "This dataset is published under"},
    "classes": {"zh": "类", "en": "Classes"},
    "properties": {"zh": "属性", "en": "Properties"},
    "namespace": {"zh": "命名空间", "en": "Namespace"},
    "prefix": {"zh": "前缀", "en": "Prefix"},
    "version": {"zh": "版本", "en": "Version"},
    "domain_of": {"zh": "定义域", "en": "Domain"},
    "range": {"zh": "值域", "en": "Range"},
    "subclass_of": {"zh": "父类", "en": "Subclass of"},
    "subproperty_of": {"zh": "父属性", "en": "Subproperty of"},
    "not_found": {"zh": "未找到", "en": "Not found"},
    "not_found_text": {"zh": "此地址下没有资源：", "en": "There is no resource at"},
    "not_found_home": {"zh": "返回首页", "en": "Back to the home page"},
    "gone": {"zh": "已移除", "en": "Removed"},
    "gone_text": {
        "zh": "此资源曾经发布，已在第 {version} 版中移除",
        "en": "This resource was published in an earlier release and removed in release {version}",
    },
    "file": {"zh": "文件", "en": "File"},
    "format": {"zh": "格式", "en": "Format"},
    "size": {"zh": "大小", "en": "Size"},
    "compression": {"zh": "压缩", "en": "Compression"},
    "date": {"zh": "日期", "en": "Date"},
    "checksum": {"zh": "SHA-256", "en": "SHA-256"},
    "dumps_intro": {
        "zh": "构建产生的原始文件，逐字节一致；gzip 文件为同一内容的压缩版本。",
        "en": "The exact files the build produced; the .gz files are the same content, gzipped.",
    },
    "checksums_file": {"zh": "校验值清单", "en": "Checksum list"},
    "build": {"zh": "构建", "en": "Build"},
    "query_title": {"zh": "SPARQL 查询", "en": "SPARQL query"},
    "query_intro": {
        "zh": "在下方编辑 SPARQL 查询并运行；结果以表格显示，可下载为 JSON、XML、CSV 或 TSV"
        "（CONSTRUCT 与 DESCRIBE 的结果为 Turtle、N-Triples、JSON-LD 等 RDF 格式）。",
        "en": "Edit a SPARQL query below and run it; results show as a table and download as JSON, "
        "XML, CSV or TSV (a CONSTRUCT or DESCRIBE as Turtle, N-Triples, JSON-LD and other RDF "
        "formats).",
    },
    "examples": {"zh": "示例查询", "en": "Example queries"},
    "query_text": {"zh": "查询语句", "en": "Query text"},
    "result_format": {"zh": "结果格式", "en": "Result format"},
    # names query.js gives YASGUI's unlabelled controls (for screen readers)
    "a11y_editor": {"zh": "SPARQL 查询编辑器", "en": "SPARQL query editor"},
    "a11y_endpoint": {"zh": "SPARQL 端点", "en": "SPARQL endpoint"},
    "a11y_page_size": {"zh": "每页显示行数", "en": "Rows per page"},
    "run": {"zh": "运行查询", "en": "Run query"},
    "open_example": {"zh": "载入", "en": "Load"},
    "noscript": {
        "zh": "未启用 JavaScript：请使用下面的表单，结果显示在本页，也可按所选格式下载。",
        "en": "JavaScript is off: use the form below; results show on this page or download in the "
        "chosen format.",
    },
    "no_vendor": {
        "zh": "查询编辑器未安装（运行 make install）；请使用下面的表单。",
        "en": "The query editor is not installed (run make install); use the form below.",
    },
    "see_also": {"zh": "另见", "en": "See also"},
    "guide": {"zh": "指引", "en": "Guide"},
    "citation": {"zh": "引用", "en": "Citation"},
    "items": {"zh": "数据项", "en": "Data items"},
    "in_scenarios": {"zh": "出现于", "en": "Appears in"},
    "same_kind": {"zh": "其他场景中的同类数据", "en": "The same kind of data in other scenarios"},
    "dataset": {"zh": "数据集", "en": "Dataset"},
    "footer_data": {"zh": "数据", "en": "Data"},
    "footer_about": {"zh": "关于", "en": "About"},
    "generated": {"zh": "由 dipkg {version} 生成", "en": "Generated by dipkg {version}"},
    "personal": {"zh": "个人信息", "en": "Personal information"},
    "changes": {"zh": "版本变化", "en": "What changed"},
    "changes_intro": {
        "zh": "本版本相对上一版本新增、删除和修改的场景、数据类别与数据项（按 IRI 比较）。",
        "en": "The scenarios, data categories and data fields added, removed and changed since the "
        "previous release (compared by IRI).",
    },
    "changes_text": {
        "zh": "相对上一版本的变化。",
        "en": "What changed since the previous release.",
    },
    "this_release": {"zh": "本版本", "en": "This release"},
    "previous_release": {"zh": "上一版本", "en": "Previous release"},
    "no_previous": {"zh": "无（首个版本）", "en": "none (first release)"},
    "first_release_text": {
        "zh": "这是首个版本，没有可比较的上一版本。",
        "en": "This is the first release: there is no previous release to compare with.",
    },
    "added": {"zh": "新增", "en": "added"},
    "removed": {"zh": "删除", "en": "removed"},
    "changed": {"zh": "修改", "en": "changed"},
    "change": {"zh": "变化", "en": "Change"},
    "what_changed": {"zh": "修改内容（删除 / 新增）", "en": "What changed (removed / added)"},
    "sensitive": {"zh": "敏感个人信息类别", "en": "Sensitive category"},
    # the query page: results of the plain form and readable errors (also used by query.js)
    "results": {"zh": "查询结果", "en": "Results"},
    "result_rows": {"zh": "共 {n} 行", "en": "{n} rows"},
    "result_rows_one": {"zh": "共 {n} 行", "en": "{n} row"},
    "result_truncated": {
        "zh": "结果过多，只显示前 {n} 行；请下载完整结果。",
        "en": "Only the first {n} rows are shown; download the full results.",
    },
    "result_graph_cut": {
        "zh": "图过大，只显示前 {n} KB；请下载完整结果。",
        "en": "Only the first {n} KB of the graph are shown; download the full graph.",
    },
    "result_true": {"zh": "是（true）", "en": "Yes (true)"},
    "result_false": {"zh": "否（false）", "en": "No (false)"},
    "result_graph": {
        "zh": "结果为 RDF 图（Turtle）：",
        "en": "The result is an RDF graph (Turtle):",
    },
    "download_as": {"zh": "按所选格式下载", "en": "Download in the chosen format"},
    "download_none": {
        "zh": "这个查询无法下载：请先修正它并运行。",
        "en": "This query cannot be downloaded: correct it and run it first.",
    },
    "err_where": {"zh": "第 {line} 行，第 {column} 列", "en": "Line {line}, column {column}"},
    "err_prefix": {
        "zh": "前缀 {prefix}: 未声明。请在查询开头添加一行：{fix}",
        "en": "The prefix {prefix}: is not declared. Add this line at the top of the query: {fix}",
    },
    "err_prefix_unknown": {
        "zh": "前缀 {prefix}: 未声明。请用 PREFIX {prefix}: <命名空间 IRI> 声明它。",
        "en": "The prefix {prefix}: is not declared. "
        "Declare it with PREFIX {prefix}: <namespace IRI>.",
    },
    "err_expected": {
        "zh": "此处应为以下之一：{expected}",
        "en": "Expected here one of: {expected}",
    },
    "err_unexpected": {"zh": "此处的文本无法解析。", "en": "The text here cannot be parsed."},
    "err_reasons": {
        "zh": "查询不符合 SPARQL 的规则（解析器原文）：{reasons}",
        "en": "The query breaks a rule of SPARQL (the parser's words): {reasons}",
    },
    "err_formats": {
        "zh": "此查询提供的格式：{formats}",
        "en": "Formats offered for this query: {formats}",
    },
    "err_title": {"zh": "查询失败", "en": "The query failed"},
    "err_query-syntax": {"zh": "查询语法错误", "en": "Syntax error in the query"},
    "err_timeout": {
        "zh": "查询超时：请缩小查询范围（例如加 LIMIT）后重试。",
        "en": "The query took too long: narrow it (for example with LIMIT) and try again.",
    },
    "err_busy": {
        "zh": "服务器繁忙，请稍后重试。",
        "en": "The server is busy; try again in a moment.",
    },
    "err_worker-died": {
        "zh": "查询进程意外结束，请重试或简化查询。",
        "en": "The query process stopped unexpectedly; try again or simplify the query.",
    },
    "err_update-forbidden": {
        "zh": "此端点只读：不接受 INSERT、DELETE 等更新操作。",
        "en": "This endpoint is read-only: updates (INSERT, DELETE…) are not accepted.",
    },
    "err_service-refused": {
        "zh": "不允许 SERVICE（联邦查询）。",
        "en": "SERVICE (federated queries) is not allowed.",
    },
    "err_query-too-large": {"zh": "查询语句过长。", "en": "The query is too long."},
    "err_query-too-deep": {"zh": "查询嵌套过深。", "en": "The query is nested too deeply."},
    "err_query-evaluation": {"zh": "查询执行出错", "en": "The query failed while running"},
    "err_not-acceptable": {
        "zh": "不提供所选的格式",
        "en": "The chosen format is not offered",
    },
    "err_details": {"zh": "原始信息", "en": "Original message"},
    # --- the map of shared data and the small pictures (sparql_api/charts.py: w) ---
    "chart.title": {"zh": "共享数据地图", "en": "Map of shared data"},
    "chart.summary": {
        "zh": "{s} 个场景 × {k} 种被至少 {m} 个场景共用的数据种类",
        "en": "{s} scenarios × {k} data kinds shared by at least {m} scenarios",
    },
    "chart.desc": {
        "zh": "每行是一个应用场景，按领域分组；每列是一种数据种类，按上位种类分组。"
        "格子的颜色越深、数字越大，"
        "该场景中属于这种数据（或其下位种类）的数据项越多；空白表示该场景不用这种数据。"
        "点击格子查看这种数据及用到它的数据项。",
        "en": "Each row is an application scenario, grouped by domain; each column a data kind, "
        "grouped by its top-level kind. The darker the cell and the larger its number, "
        "the more of the scenario's data fields are of that kind (or a narrower one); "
        "an empty cell means the scenario does not use it. "
        "Follow a cell to the kind and the fields that use it.",
    },
    "chart.cell": {"zh": "{s} × {k}：{n} 个数据项", "en": "{s} × {k}: {n} fields"},
    "chart.cell_one": {"zh": "{s} × {k}：{n} 个数据项", "en": "{s} × {k}: {n} field"},
    "chart.column": {"zh": "{k}：{n} 个场景", "en": "{k}: {n} scenarios"},
    "chart.column_one": {"zh": "{k}：{n} 个场景", "en": "{k}: {n} scenario"},
    "chart.legend": {"zh": "数据项个数", "en": "Fields"},
    "chart.domain_bars": {"zh": "各领域的场景数", "en": "Scenarios per domain"},
    "chart.kind_bars": {
        "zh": "用到这种数据的场景（含下位种类），按数据项个数",
        "en": "Scenarios using this kind (or a narrower one), by number of fields",
    },
    "chart.n_scenarios": {"zh": "{n} 个场景", "en": "{n} scenarios"},
    "chart.n_scenarios_one": {"zh": "{n} 个场景", "en": "{n} scenario"},
    "chart.n_fields": {"zh": "{n} 个数据项", "en": "{n} fields"},
    "chart.n_fields_one": {"zh": "{n} 个数据项", "en": "{n} field"},
    # (templates: chart_word(key, lang))
    "chart.as_table": {
        "zh": "以表格查看：每个场景用到的共享数据种类及其数据项",
        "en": "As a table: the shared data kinds of each scenario, and their fields",
    },
    "chart.th_scenario": {"zh": "场景", "en": "Scenario"},
    "chart.th_kinds": {"zh": "共享的数据种类（数据项）", "en": "Shared data kinds (fields)"},
    "chart.domain_overview": {"zh": "领域概览", "en": "Domains at a glance"},
    "chart.map_link": {"zh": "共享数据地图 →", "en": "Map of shared data →"},
    "chart.map_link_text": {
        "zh": "哪些场景用到哪些数据种类：一张按领域和数据种类分组的矩阵图。",
        "en": "Which scenarios use which kinds of data: "
        "one matrix, grouped by domain and data kind.",
    },
    "chart.kind_scenarios": {"zh": "用到这种数据的场景", "en": "Scenarios using this kind"},
}

#: The strings the query page's script needs (sparql_api/static/query.js), keys above.
CLIENT_STRINGS = tuple(k for k in STRINGS if k.startswith(("err_", "result_", "a11y_")))
#: Errors whose message only the server can phrase (their text is kept under the title).
_ERRORS_WITH_TEXT = ("query-evaluation", "bad-request", "not-acceptable", "http")


def describe_error(error: Mapping[str, object], lang: str) -> dict[str, str]:
    """An endpoint error (``{error, status, message, line, column, details}``) for a person,
    in ``lang``: a ``title``, where it is (``where``: line and column, or empty) and what to
    do (``text``); ``original`` is the endpoint's own message. query.js does the same."""
    code = str(error.get("error") or "")
    details = error.get("details") if isinstance(error.get("details"), Mapping) else {}
    assert isinstance(details, Mapping)
    line, column = error.get("line"), error.get("column")
    where = t("err_where", lang).format(line=line, column=column) if line and column else ""
    title = t(f"err_{code}", lang) if f"err_{code}" in STRINGS else t("err_title", lang)
    text = ""
    if details.get("prefix"):
        namespace = details.get("namespace")
        fix = f"PREFIX {details['prefix']}: <{namespace}>"
        text = t("err_prefix" if namespace else "err_prefix_unknown", lang).format(
            prefix=details["prefix"], fix=fix
        )
    elif isinstance(details.get("reasons"), list) and details["reasons"]:
        text = t("err_reasons", lang).format(reasons="; ".join(map(str, details["reasons"])))
    elif isinstance(details.get("formats"), Mapping) and details["formats"]:
        names = [v[0] if isinstance(v, list) and v else k for k, v in details["formats"].items()]
        text = t("err_formats", lang).format(formats=", ".join(map(str, names)))
    elif isinstance(details.get("expected"), list):
        words = [str(w) for w in details["expected"]]
        shown = ", ".join(words[:12]) + (" …" if len(words) > 12 else "")
        text = (
            t("err_expected", lang).format(expected=shown) if words else t("err_unexpected", lang)
        )
    elif code not in ("query-syntax", *_ERRORS_WITH_TEXT) and f"err_{code}" in STRINGS:
        title, text = t("err_title", lang), t(f"err_{code}", lang)
    else:
        text = str(error.get("message") or "")
    return {
        "title": title,
        "where": where,
        "text": text,
        "original": str(error.get("message") or ""),
    }


def t(key: str, lang: str) -> str:
    entry = STRINGS.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry.get(DEFAULT) or key


#: YASGUI's own labels (English in the vendor bundle) as the Chinese query page shows them;
#: query.js swaps them in as YASGUI draws. Keys are YASGUI's exact texts, titles and
#: aria-labels; ``{…}`` keys are patterns whose placeholders are numbers or names.
YASGUI_ZH: dict[str, str] = {
    "Query": "查询",
    "Table": "表格",
    "Response": "原始响应",
    "Simple view": "简洁视图",
    "Ellipse": "截断长文本",
    "Page size:": "每页行数：",
    "All": "全部",
    "Settings": "设置",
    "Request method": "请求方法",
    "Accept Headers": "Accept 请求头",
    "Ask / Select": "ASK / SELECT",
    "Construct / Describe": "CONSTRUCT / DESCRIBE",
    "Arguments": "参数",
    "Header Arguments": "请求头参数",
    "Default Graphs": "默认图",
    "Named Graphs": "命名图",
    "Add a new tab": "新建标签页",
    "Add tab": "新建标签页",
    "Close tab": "关闭标签页",
    "Clear endpoint": "清除端点",
    "Download Results": "下载结果",
    "Download result": "下载结果",
    "Filter query results": "筛选结果",
    "First": "第一页",
    "Last": "最后一页",
    "Next": "下一页",
    "Previous": "上一页",
    "Open settings": "打开设置",
    "Run query": "运行查询",
    "Share query": "分享查询",
    "pagination": "分页",
    "Try query in a new browser window": "在新窗口中打开此查询",
    "Copy to clipboard": "复制到剪贴板",
    "Shorten": "缩短链接",
    "{n} results in {s} seconds": "{n} 条结果，用时 {s} 秒",
    "{n} result in {s} seconds": "{n} 条结果，用时 {s} 秒",
    "Response in {s} seconds": "响应用时 {s} 秒",
    "Showing {a} to {b} of {c} entries": "第 {a}–{b} 条，共 {c} 条",
    "{x}: Activate to sort": "{x}：点击排序",
    "View documentation of {x}": "查看“{x}”的说明",
    "Shows {x} view": "显示“{x}”视图",
}
