"""Readable SPARQL syntax errors: pyoxigraph's parser messages, made for people.

pyoxigraph says ``error at 1:26: expected one of OPTIONAL, Prefix not found, ['%'],
['-' | '0' ..= '9' | ...` (five lines of Unicode ranges). The endpoint, the query UI
and ``dipkg query`` show instead: an undeclared prefix by name, with the ``PREFIX``
line to add where the project knows the namespace; a check the grammar makes by its
sentence (``details.reasons``: "the SELECT contains a variable that is unbound", which the
parser lists among the tokens it expected); otherwise the line, the column and the
keywords or punctuation that may come there.
"""

from __future__ import annotations

import re

from dipkg.core.iris import PREFIXES
from sparql_api.errors import QuerySyntaxError
from sparql_api.guard import PNAME, Token, declaration, tokenize

_POSITION = re.compile(r"error at (\d+):(\d+)")
_EXPECTED = re.compile(r"expected (?:one of )?(.*)$", re.S)
#: most alternatives a readable syntax error lists
SHOWN_EXPECTED = 12


def _alternatives(listing: str) -> list[str]:
    """The keywords and punctuation of pyoxigraph's "expected one of ..." list, without its
    character classes (``['A' ..= 'Z' | ...]``, ``[_]``), which mean "a name" to a person."""
    items, depth, quoted, escaped, current = [], 0, False, False, ""
    for ch in listing:
        if escaped:  # the character after a backslash in a quoted token ("\"" is a quote)
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif quoted:
            pass
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        current += ch
    items.append(current.strip())
    words = [i for i in items if i and not i.startswith("[") and i != "Prefix not found"]
    return sorted(set(words), key=words.index)


def _is_reason(alternative: str) -> bool:
    """Whether an alternative of the parser's "expected" list is a sentence (a check the
    grammar makes, e.g. "The SELECT contains a variable that is unbound", "IRI parsing
    failed") rather than a keyword or quoted punctuation: it holds a space."""
    return not alternative.startswith('"') and any(c.isspace() for c in alternative)


def _sentence(reason: str) -> str:
    """``reason`` to follow a colon: "The SELECT ..." as "the SELECT ..."; "IRI ..." kept."""
    if len(reason) > 1 and reason[0].isupper() and reason[1].islower():
        return reason[0].lower() + reason[1:]
    return reason


def _undeclared_prefix(
    query: str, *, before_less_than: bool = False
) -> tuple[str, int, int] | None:
    """The first prefixed name in ``query`` whose prefix no PREFIX declares (with its place).

    With ``before_less_than`` only names before the first ``<`` that starts no IRI: after
    a broken IRI (``<http://e.org/a b>``) the tokenizer reads its text as names
    (``http:``), which no PREFIX could have declared.
    """
    tokens = tokenize(query)
    declared = _declared(tokens)
    previous = None
    for tok in tokens:
        if before_less_than and tok.text == "<":
            return None
        if tok.kind == PNAME and previous is not None and previous.text.upper() != "PREFIX":
            prefix = tok.text.partition(":")[0]
            if prefix not in declared:
                at_line = query.count("\n", 0, tok.pos) + 1
                at_col = tok.pos - (query.rfind("\n", 0, tok.pos) + 1) + 1
                return prefix, at_line, at_col
        previous = tok
    return None


def _declared(tokens: list[Token]) -> set[str]:
    """The prefixes the query's PREFIX declarations name, read from its tokens: not from
    the text with a pattern, which tried at each ``PREFIX`` of ``#PREFIXPREFIX…`` scanned
    the rest of it (64 KiB held a worker ~5 s)."""
    found = (declaration(tokens, index) for index in range(len(tokens)))
    return {d.prefix for d in found if d is not None and d.prefix is not None}


def syntax_error(message: str, query: str = "") -> QuerySyntaxError:
    """A :class:`QuerySyntaxError` from pyoxigraph's message ("error at L:C: expected ..."),
    made readable: an undeclared prefix is named (with the PREFIX line to add where the
    project knows the namespace), and the "expected" list keeps keywords and punctuation
    instead of the parser's Unicode ranges."""
    match = _POSITION.search(message)
    line = column = None
    if match:
        line, column = int(match.group(1)), int(match.group(2))
    found = None
    if query and "Prefix not found" in message:
        found = _undeclared_prefix(query)
    elif query and line is not None and column is not None:
        # pyoxigraph says "Prefix not found" only when its parser stopped right after the
        # name (an object); with the name as a subject, in a FILTER or as a function it
        # reports a later place and other words ("expected OPTIONAL"). A name before that
        # place whose prefix nothing declares is an error there too, so it is named.
        found = _undeclared_prefix(query, before_less_than=True)
        if found is not None and found[1:] > (line, column):
            found = None
    if found is not None:
        prefix, at_line, at_col = found
        known = PREFIXES.get(prefix)
        fix = (
            f"add the line PREFIX {prefix}: <{known}>"
            if known
            else f"declare it with PREFIX {prefix}: <namespace IRI>"
        )
        return QuerySyntaxError(
            f"the prefix {prefix}: is not declared; {fix}",
            line=at_line,
            column=at_col,
            details={"prefix": prefix, "namespace": known},
        )
    expected = _EXPECTED.search(message)
    if match and expected:
        words = _alternatives(expected.group(1).strip())
        reasons = [w for w in words if _is_reason(w)]
        if reasons:  # a check of the grammar's, not a token: the reason the query fails
            text = f"syntax error at {line}:{column}: " + "; ".join(map(_sentence, reasons))
            return QuerySyntaxError(text, line=line, column=column, details={"reasons": reasons})
        if words:
            shown = ", ".join(words[:SHOWN_EXPECTED]) + (
                " …" if len(words) > SHOWN_EXPECTED else ""
            )
            text = f"syntax error at {line}:{column}: expected {shown}"
        else:
            text = f"syntax error at {line}:{column}: unexpected text here"
        return QuerySyntaxError(text, line=line, column=column, details={"expected": words})
    return QuerySyntaxError(message.strip(), line=line, column=column)
