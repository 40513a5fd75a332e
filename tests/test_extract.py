"""Focused tests of the 涉及数据 grammar (docs/extraction.md), one phenomenon each."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dipkg.core.errors import CorrectionError, SourceError
from kg.corrections import Correction, load_corrections
from kg.extract import parse_data_cell, split_top


def plain(text: str, corrections=()):
    example, categories = parse_data_cell(text, corrections=list(corrections))
    return example, [c.to_plain() for c in categories]


def fix(match: str, **kw) -> Correction:
    return Correction(guide="g", number=1, match=match, reason="test", **kw)


# -- example context (rule 2) ---------------------------------------------------
@pytest.mark.parametrize(
    "text, example, first",
    [
        (
            "以电解铝生产为例，涉及工艺参数数据（电流强度、电压数据）等。",
            "电解铝生产",
            "工艺参数数据",
        ),
        ("以桥梁为例，如桥梁结构数据（尺寸、材质数据）等。", "桥梁", "桥梁结构数据"),
        ("以黄牛为例，包含黄牛个体数据（品种、年龄数据）等。", "黄牛", "黄牛个体数据"),
        (
            "以磷化工智能化为例，涉及矿石品位数据（P₂O₅含量、杂质成分及含量数据）",
            "磷化工智能化",
            "矿石品位数据",
        ),
        ("如交通流量数据（车流量、车型数据）等。", None, "交通流量数据"),
    ],
)
def test_example_context_and_introducers(text, example, first):
    got_example, categories = plain(text)
    assert got_example == example
    assert categories[0]["category"] == first


def test_industry_framed_example_needs_a_correction():
    text = "如采矿业井下环境数据（温度、湿度数据）、矿压数据（顶板压力数据）等。"
    # grammar alone keeps the industry in the category name ...
    assert plain(text)[1][0]["category"] == "采矿业井下环境数据"
    # ... a correction makes it the example context
    correction = fix("如采矿业井下环境数据", example="采矿业", text="井下环境数据")
    example, categories = plain(text, [correction])
    assert example == "采矿业"
    assert categories[0] == {"category": "井下环境数据", "items": ["温度", "湿度"]}
    assert correction.fired == 1


# -- 数据 (rule 7) --------------------------------------------------------------
def test_list_wide_data_suffix_belongs_to_the_list():
    _, cats = plain("工艺参数数据（电流强度、电压、极距、电解质温度、分子比、氧化铝浓度数据）")
    assert cats[0]["items"] == ["电流强度", "电压", "极距", "电解质温度", "分子比", "氧化铝浓度"]


def test_item_level_data_suffix_is_kept():
    _, cats = plain("健康状态（振动数据、噪声数据、磨损与老化情况）")
    assert cats[0]["items"] == ["振动数据", "噪声数据", "磨损与老化情况"]


def test_data_etc_keeps_its_data():
    _, cats = plain("设备状态数据（运行参数、性能指标：温度、湿度、液位等；精度数据等）")
    assert cats[0]["items"][-1] == "精度数据"


# -- 等, separators, 以及, 涵盖 (rules 3-5) -------------------------------------------
def test_trailing_etc_on_items_and_cell():
    _, cats = plain("如设备状态数据（温度、液位等）、碳排放数据等。")
    assert cats == [
        {"category": "设备状态数据", "items": ["温度", "液位"]},
        {"category": "碳排放数据"},
    ]


@pytest.mark.parametrize("sep", ["、", "，", "；", "以及"])
def test_category_separators(sep):
    _, cats = plain(f"甲数据（a、b数据）{sep}乙数据（c、d数据）")
    assert [c["category"] for c in cats] == ["甲数据", "乙数据"]


def test_semicolon_inside_parentheses_does_not_split_categories():
    _, cats = plain(
        "设备状态数据（运行参数、性能指标：温度、湿度等；精度数据等），健康状态（振动数据、噪声数据）"
    )
    assert [c["category"] for c in cats] == ["设备状态数据", "健康状态"]


def test_introducer_inside_parentheses():
    _, cats = plain("物流运输数据（涵盖运输路线、车辆调度、实时路况）")
    assert cats[0]["items"] == ["运输路线", "车辆调度", "实时路况"]


# -- nesting (rule 6) -----------------------------------------------------------------
def test_nested_list_is_a_sub_category():
    _, cats = plain("设备状态数据（运行参数、性能指标：温度、湿度、电压等；精度数据等）")
    assert cats[0]["items"] == [
        "运行参数",
        {"category": "性能指标", "items": ["温度", "湿度", "电压"]},
        "精度数据",
    ]


def test_ru_inside_an_item_opens_a_sub_category():
    _, cats = plain("检验检测数据（血常规、生化指标、影像检查结果如 X 光片、CT 片数据）")
    assert cats[0]["items"][-1] == {"category": "影像检查结果", "items": ["X 光片", "CT 片"]}


# -- shared heads and modifiers (rule 9) -------------------------------------------------
def test_shared_head_by_correction():
    text = "物流运输数据（涵盖铁路、公路货运量、运输路线）"
    assert plain(text)[1][0]["items"][:2] == ["铁路", "公路货运量"]  # grammar alone
    correction = fix("铁路、公路货运量", items=("铁路货运量", "公路货运量"))
    assert plain(text, [correction])[1][0]["items"] == ["铁路货运量", "公路货运量", "运输路线"]


def test_shared_modifier_groups_by_correction():
    text = "设备运行数据（反应釜温度、压力、转速，泵类设备流量、扬程）"
    fixes = [
        fix("反应釜温度、压力、转速", items=("反应釜温度", "反应釜压力", "反应釜转速")),
        fix("泵类设备流量、扬程", items=("泵类设备流量", "泵类设备扬程")),
    ]
    assert plain(text, fixes)[1][0]["items"] == [
        "反应釜温度",
        "反应釜压力",
        "反应釜转速",
        "泵类设备流量",
        "泵类设备扬程",
    ]


def test_shared_head_with_latin_letters():
    text = "检验检测数据（血常规、影像检查结果如 X 光、CT、MRI 图像数据）"
    correction = fix("X 光、CT、MRI 图像数据", items=("X 光图像", "CT 图像", "MRI 图像"))
    sub = plain(text, [correction])[1][0]["items"][-1]
    assert sub == {"category": "影像检查结果", "items": ["X 光图像", "CT 图像", "MRI 图像"]}


# -- qualifiers (rule 8) -------------------------------------------------------------------
def test_qualifier_platforms():
    _, cats = plain("社交媒体数据（微博、微信、抖音等平台的帖子、评论、点赞、转发数据）")
    assert cats[0] == {
        "category": "社交媒体数据",
        "qualifier": "微博、微信、抖音等平台",
        "items": ["帖子", "评论", "点赞", "转发"],
    }


def test_qualifier_hotels():
    _, cats = plain("实时住宿数据（酒店、民宿的位置、房型、价格、入住率、用户评价、设施配备）")
    assert cats[0]["qualifier"] == "酒店、民宿"
    assert cats[0]["items"] == ["位置", "房型", "价格", "入住率", "用户评价", "设施配备"]


def test_de_in_the_last_item_is_part_of_the_field():
    _, cats = plain(
        "能源与生产协同数据（生产计划排程与能源供应匹配度、停机/换产过程中的能源浪费监测值）"
    )
    assert "qualifier" not in cats[0]
    assert cats[0]["items"][-1] == "停机/换产过程中的能源浪费监测值"


def test_de_in_two_items_is_no_qualifier():
    _, cats = plain("产业化应用数据（设备调优的纹样参数、数字印花的色彩校准数据）")
    assert cats[0] == {
        "category": "产业化应用数据",
        "items": ["设备调优的纹样参数", "数字印花的色彩校准"],
    }


# -- categories without fields, characters (rules 4, 11) --------------------------------------
def test_categories_without_parentheses():
    _, cats = plain(
        "企业用电基础数据（用电量数据、用电结构数据）、用电行为与履约数据、用电趋势与波动数据等。"
    )
    assert cats[1:] == [{"category": "用电行为与履约数据"}, {"category": "用电趋势与波动数据"}]


def test_spacing_and_special_characters_kept():
    _, cats = plain(
        "产品质量检测数据（产品纯度、pH 值数据）、矿石品位数据（P₂O₅含量、杂质成分及含量数据）"
    )
    assert cats[0]["items"] == ["产品纯度", "pH 值"]
    assert cats[1]["items"][0] == "P₂O₅含量"


def test_runs_of_spaces_collapse():
    _, cats = plain("车辆轨迹数据（出租车、私家车   GPS 轨迹数据）")
    assert cats[0]["items"] == ["出租车", "私家车 GPS 轨迹"]


def test_docx_artifact_removed():
    _, cats = plain("[bookmark: _GoBack]如纹样数据（微距摄影数据、色彩数据）")
    assert cats[0]["category"] == "纹样数据"


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, column",
    [("甲数据（a、b", 4), ("甲数据a）、乙数据", 5), ("甲数据（a（b）", 4)],
)
def test_unbalanced_parenthesis_names_the_column(text, column):
    with pytest.raises(SourceError) as caught:
        parse_data_cell(text, file="f.txt", line=7, column=1)
    assert caught.value.line == 7 and caught.value.column == column
    assert "unbalanced parenthesis" in caught.value.message


@pytest.mark.parametrize("text", ["甲数据（a、、b）", "甲数据（）", "、乙数据", "（a、b）"])
def test_malformed_lists_are_source_errors(text):
    with pytest.raises(SourceError):
        parse_data_cell(text, file="f.txt", line=3)


def test_correction_that_no_longer_matches_fails():
    with pytest.raises(CorrectionError, match="no longer matches"):
        parse_data_cell("甲数据（a、b）", corrections=[fix("丙、丁", items=("x",))])


def test_correction_must_cover_whole_items():
    with pytest.raises(SourceError, match="whole items"):
        parse_data_cell("甲数据（铁路、公路货运量）", corrections=[fix("路、公路", items=("x",))])


def test_each_correction_is_placed_on_its_own_match_line(tmp_path):
    """Two corrections with the same match text (two guides) are told apart by their own lines."""
    entry = """
[[correction]]
guide = "{guide}"
number = 1
match = "铁路、公路货运量"
reason = "Shared final head."
items = ["铁路货运量", "公路货运量"]
"""
    path = tmp_path / "corrections.toml"
    path.write_text(
        "# header\n" + entry.format(guide="a") + entry.format(guide="b"), encoding="utf-8"
    )
    first, second = load_corrections(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[first.line - 1].startswith("match") and lines[second.line - 1].startswith("match")
    assert second.line == first.line + 7


# -- properties --------------------------------------------------------------------------------
_WORD = st.text(
    alphabet="温湿度压力流量电压速车辆位置价格设备运行状态", min_size=1, max_size=6
).filter(lambda w: not w.endswith(("数据", "等")) and "的" not in w and "如" not in w)


@given(
    st.lists(
        st.tuples(_WORD, st.lists(_WORD, min_size=2, max_size=6)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["、", "，", "；"]),
)
@settings(max_examples=200, deadline=None)
def test_well_formed_lists_round_trip(categories, separator):
    text = (
        separator.join(f"{name}数据（{'、'.join(items)}）" for name, items in categories) + "等。"
    )
    _, parsed = plain(text)
    assert parsed == [{"category": f"{name}数据", "items": items} for name, items in categories]


@given(st.text(alphabet="甲乙数据（）、，；等的如以为例：X 。", max_size=40))
@settings(max_examples=500, deadline=None)
def test_any_text_parses_or_fails_cleanly(text):
    try:
        plain(text)
    except SourceError as exc:
        assert exc.line == 1 and exc.message


def test_split_top_ignores_separators_in_parentheses():
    assert split_top("a（b、c）、d", ("、",)) == ["a（b、c）", "d"]
