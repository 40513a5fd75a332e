"""SHACL shapes compiled to SPARQL queries, so validation runs on Oxigraph.

The build validates the graph it has just loaded into its Oxigraph store: every
constraint of ontology/shapes.ttl becomes one SELECT query whose rows are the
validation results (focus node ``?this``, and ``?value`` where the constraint
is about one value node). That takes under two minutes at five million
triples, where pyshacl took four minutes at half a million (it walks rdflib's
Python graph once per focus node and constraint, and builds a report graph of
every nested result).

This is not a general SHACL engine. It compiles the part of SHACL-Core the
project uses, and SHACL-SPARQL constraints of node shapes whose only pre-bound
variable is ``$this`` (the target pattern is put first in the WHERE group, so
``$this`` is bound as SHACL's pre-binding binds it). A shape that uses anything
else fails the build with :class:`ShapeError` naming the shape and the
construct, instead of being skipped: extend the compiler (and its oracle test,
tests/test_shacl.py, which checks every supported construct against pyshacl
on the shape examples and on mutated graphs) before using a new construct.

Supported, on node shapes with targets and their ``sh:property`` shapes
(predicate or ``sh:inversePath`` paths):

* targets: sh:targetClass (with rdfs:subClassOf*), implicit class targets,
  sh:targetNode, sh:targetSubjectsOf, sh:targetObjectsOf;
* value type: sh:class, sh:datatype (with a lexical check for the xsd types
  in ``_LEXICAL``), sh:nodeKind;
* cardinality: sh:minCount, sh:maxCount; value range: sh:minInclusive,
  sh:maxInclusive, sh:minExclusive, sh:maxExclusive;
* strings: sh:minLength, sh:maxLength, sh:pattern (+ sh:flags),
  sh:languageIn, sh:uniqueLang;
* others: sh:in, sh:hasValue, sh:disjoint;
* shape-based: sh:not, sh:and, sh:or, sh:node and sh:qualifiedValueShape with
  sh:qualifiedMinCount / sh:qualifiedMaxCount, where the nested shapes use
  only value constraints (no paths, no counts);
* sh:severity, sh:message (with ``{$this}``/``{?var}`` templates),
  sh:deactivated.

Why one module of ~580 lines: it is one compiler. The tables at the top (the constraint
components, node kinds, ranges, lexical forms) are its grammar, and its methods recurse
into each other (``constraint_checks`` -> ``value_condition`` <-> ``shape_condition``,
``qualified_checks`` -> ``shape_condition``); split by constraint kind, one compilation
would be read across files that all need the same compiler state. tests/test_shacl.py
tests it as one unit against pyshacl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD

from dipkg.core.errors import ShapeError
from kg.paths import display
from kg.source import split_lines

_PREBOUND = re.compile(r"\$(?!this\b)[A-Za-z_]\w*")
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)

# Lexical forms accepted for sh:datatype, as pyshacl (rdflib) parses them.
_LEXICAL = {
    XSD.integer: r"^\s*[+-]?[0-9]+\s*$",
    XSD.decimal: r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$",
    XSD.boolean: r"^\s*(true|false|1|0)\s*$",
}
_ANY_LEXICAL = {XSD.string, XSD.anyURI}
_NODE_KINDS = {
    SH.IRI: "isIRI(?v)",
    SH.BlankNode: "isBlank(?v)",
    SH.Literal: "isLiteral(?v)",
    SH.BlankNodeOrIRI: "!isLiteral(?v)",
    SH.BlankNodeOrLiteral: "!isIRI(?v)",
    SH.IRIOrLiteral: "!isBlank(?v)",
}
_RANGES = {
    SH.minInclusive: ">=",
    SH.maxInclusive: "<=",
    SH.minExclusive: ">",
    SH.maxExclusive: "<",
}
# Predicates on a shape that are not constraints (or are read with the constraint they qualify).
_NOT_CONSTRAINTS = {
    RDF.type,
    SH.name,
    SH.description,
    SH.message,
    SH.severity,
    SH.deactivated,
    SH.path,
    SH.property,
    SH.sparql,
    SH.targetClass,
    SH.targetNode,
    SH.targetSubjectsOf,
    SH.targetObjectsOf,
    SH.order,
    SH.group,
    SH.defaultValue,
    SH.flags,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.prefixes,
    SH.declare,
}
_VALUE_CONSTRAINTS = {
    SH["class"],
    SH.datatype,
    SH.nodeKind,
    SH.minInclusive,
    SH.maxInclusive,
    SH.minExclusive,
    SH.maxExclusive,
    SH.minLength,
    SH.maxLength,
    SH.pattern,
    SH.languageIn,
    SH["in"],
    SH["not"],
    SH["and"],
    SH["or"],
    SH.node,
}
_COMPONENT = {
    SH["class"]: "ClassConstraintComponent",
    SH.datatype: "DatatypeConstraintComponent",
    SH.nodeKind: "NodeKindConstraintComponent",
    SH.minInclusive: "MinInclusiveConstraintComponent",
    SH.maxInclusive: "MaxInclusiveConstraintComponent",
    SH.minExclusive: "MinExclusiveConstraintComponent",
    SH.maxExclusive: "MaxExclusiveConstraintComponent",
    SH.minLength: "MinLengthConstraintComponent",
    SH.maxLength: "MaxLengthConstraintComponent",
    SH.pattern: "PatternConstraintComponent",
    SH.languageIn: "LanguageInConstraintComponent",
    SH["in"]: "InConstraintComponent",
    SH["not"]: "NotConstraintComponent",
    SH["and"]: "AndConstraintComponent",
    SH["or"]: "OrConstraintComponent",
    SH.node: "NodeConstraintComponent",
    SH.minCount: "MinCountConstraintComponent",
    SH.maxCount: "MaxCountConstraintComponent",
    SH.uniqueLang: "UniqueLangConstraintComponent",
    SH.hasValue: "HasValueConstraintComponent",
    SH.disjoint: "DisjointConstraintComponent",
    SH.qualifiedMinCount: "QualifiedMinCountConstraintComponent",
    SH.qualifiedMaxCount: "QualifiedMaxCountConstraintComponent",
    SH.sparql: "SPARQLConstraintComponent",
}


@dataclass(frozen=True)
class Check:
    """One constraint as one SELECT: each row (``?this``, maybe ``?value``, ``?path``) is a
    result."""

    shape: str
    component: str
    query: str
    message: str
    severity: str
    path: str | None


def term(node: rdflib.term.Node) -> str:
    """``node`` in SPARQL syntax (rdflib's N3 form of IRIs and literals is valid SPARQL)."""
    if isinstance(node, rdflib.URIRef | rdflib.Literal):
        return node.n3()
    raise ShapeError(f"a blank node cannot be used as a value in a compiled constraint: {node}")


def _items(shapes: rdflib.Graph, head: rdflib.term.Node) -> list[rdflib.term.Node]:
    return list(rdflib.collection.Collection(shapes, head))


class _Compiler:
    def __init__(self, shapes: rdflib.Graph, source: Path | None) -> None:
        self.shapes = shapes
        self.source = source
        self.prologue = _prefixes(shapes)

    def error(self, shape: rdflib.term.Node, what: str) -> ShapeError:
        return ShapeError(
            f"shape {self.name(shape)}: {what} (the build's SHACL compiler, kg/shacl.py, does not "
            "support it)",
            file=display(self.source) if self.source else None,
            line=self.line_of(shape),
        )

    def name(self, node: rdflib.term.Node) -> str:
        return (
            self.shapes.namespace_manager.normalizeUri(node)
            if isinstance(node, rdflib.URIRef)
            else str(node)
        )

    def line_of(self, shape: rdflib.term.Node) -> int | None:
        if self.source is None or not isinstance(shape, rdflib.URIRef):
            return None
        try:
            text = self.source.read_text(encoding="utf-8")
        except OSError:
            return None
        local = self.name(shape)
        for number, line in enumerate(split_lines(text), 1):
            if line.split(" ", 1)[0] in (local, f"<{shape}>"):
                return number
        return None

    def one(self, shape: rdflib.term.Node, predicate: rdflib.URIRef) -> rdflib.term.Node | None:
        values = list(self.shapes.objects(shape, predicate))
        if len(values) > 1:
            raise self.error(shape, f"more than one {self.name(predicate)}")
        return values[0] if values else None

    def int_param(self, shape: rdflib.term.Node, predicate: rdflib.URIRef) -> int:
        value = self.one(shape, predicate)
        if (
            not isinstance(value, rdflib.Literal)
            or not isinstance(value.toPython(), int)
            or isinstance(value.toPython(), bool)
        ):
            raise self.error(shape, f"{self.name(predicate)} must be an integer")
        return int(value.toPython())

    # -- which shapes -------------------------------------------------------

    def targets(self, shape: rdflib.term.Node) -> list[str]:
        patterns = []
        classes = list(self.shapes.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in self.shapes or (
            shape,
            RDF.type,
            OWL.Class,
        ) in self.shapes:
            classes.append(shape)
        for cls in sorted(set(classes), key=str):
            patterns.append(f"?this <{RDF.type}>/<{RDFS.subClassOf}>* {term(cls)} .")
        nodes = sorted(self.shapes.objects(shape, SH.targetNode), key=str)
        if nodes:
            patterns.append("VALUES ?this { " + " ".join(term(n) for n in nodes) + " }")
        for predicate in sorted(self.shapes.objects(shape, SH.targetSubjectsOf), key=str):
            patterns.append(f"?this {term(predicate)} ?target_object .")
        for predicate in sorted(self.shapes.objects(shape, SH.targetObjectsOf), key=str):
            patterns.append(f"?target_subject {term(predicate)} ?this .")
        if (shape, SH.target, None) in self.shapes:
            raise self.error(shape, "sh:target (SHACL-AF custom targets)")
        return patterns

    def target_group(self, patterns: list[str]) -> str:
        # A plain pattern, not a SELECT DISTINCT subquery: Oxigraph plans a subquery
        # on its own and then joins it, so "$this ?p ?o" became a scan of the whole
        # store (0.66 s against 0.002 s at 500k triples). A focus node reached by two
        # targets yields duplicate rows; kg/validate.py drops duplicate results.
        if len(patterns) == 1:
            return patterns[0]
        return "{ " + " UNION ".join("{ " + p + " }" for p in patterns) + " }"

    def compile(self) -> list[Check]:
        checks: list[Check] = []
        node_shapes = {s for s in self.shapes.subjects(RDF.type, SH.NodeShape)}
        node_shapes |= {s for s in self.shapes.subjects(SH.property, None)}
        for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
            node_shapes |= set(self.shapes.subjects(p, None))
        for shape in sorted(node_shapes, key=str):
            if self.deactivated(shape):
                continue
            patterns = self.targets(shape)
            if not patterns:
                continue  # only used from other shapes (sh:node, sh:not, qualified value shapes...)
            target = self.target_group(patterns)
            if (shape, SH.path, None) in self.shapes:
                checks.extend(self.property_checks(shape, target))
                continue
            checks.extend(self.constraint_checks(shape, target, path=None))
            for prop in sorted(self.shapes.objects(shape, SH.property), key=str):
                if not self.deactivated(prop):
                    checks.extend(self.property_checks(prop, target))
            checks.extend(self.sparql_checks(shape, target))
        return checks

    def deactivated(self, shape: rdflib.term.Node) -> bool:
        return self.shapes.value(shape, SH.deactivated) == rdflib.Literal(True)

    # -- property shapes and their constraints ------------------------------

    def path(self, shape: rdflib.term.Node) -> tuple[str, str]:
        """(SPARQL path, reported path IRI) of a property shape."""
        path = self.one(shape, SH.path)
        if not isinstance(path, rdflib.URIRef):
            raise self.error(shape, "a sh:path that is not a single predicate IRI")
        return term(path), str(path)

    def property_checks(self, shape: rdflib.term.Node, target: str) -> list[Check]:
        if (shape, SH.property, None) in self.shapes or (shape, SH.sparql, None) in self.shapes:
            raise self.error(shape, "sh:property or sh:sparql on a property shape")
        sparql_path, path = self.path(shape)
        return self.constraint_checks(shape, target, path=(sparql_path, path))

    def constraint_checks(
        self, shape: rdflib.term.Node, target: str, path: tuple[str, str] | None
    ) -> list[Check]:
        checks = []
        severity = str(self.shapes.value(shape, SH.severity) or SH.Violation).rsplit("#", 1)[-1]
        message = self.message(shape)
        values = f"?this {path[0]} ?value ." if path else "BIND (?this AS ?value)"
        reported = path[1] if path else None

        def add(component: str, body: str, select: str = "?this ?value", tail: str = "") -> None:
            query = f"{self.prologue}\nSELECT DISTINCT {select} WHERE {{ {target} {body} }}{tail}"
            checks.append(
                Check(
                    str(shape),
                    component,
                    query,
                    message or _default_message(component, path),
                    severity,
                    reported,
                )
            )

        predicates = sorted(set(self.shapes.predicates(shape, None)), key=str)
        for predicate in predicates:
            if predicate in _NOT_CONSTRAINTS or not str(predicate).startswith(str(SH)):
                continue
            component = _COMPONENT.get(predicate)
            if predicate in _VALUE_CONSTRAINTS:
                for obj in sorted(self.shapes.objects(shape, predicate), key=str):
                    condition = self.value_condition(shape, predicate, obj)
                    add(component, f"{values} FILTER (!COALESCE({condition}, false))")
            elif predicate in (SH.minCount, SH.maxCount) and path:
                count = self.int_param(shape, predicate)
                if predicate == SH.minCount:
                    add(
                        component,
                        f"OPTIONAL {{ {values} }}",
                        "?this",
                        f" GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {count})",
                    )
                else:
                    add(
                        component,
                        values,
                        "?this",
                        f" GROUP BY ?this HAVING (COUNT(DISTINCT ?value) > {count})",
                    )
            elif predicate == SH.uniqueLang and path:
                if self.one(shape, predicate) != rdflib.Literal(True):
                    continue
                add(
                    component,
                    f'{values} FILTER (isLiteral(?value) && LANG(?value) != "") BIND '
                    "(LCASE(LANG(?value)) AS ?lang)",
                    "?this ?lang",
                    " GROUP BY ?this ?lang HAVING (COUNT(DISTINCT ?value) > 1)",
                )
            elif predicate == SH.hasValue:
                for obj in sorted(self.shapes.objects(shape, predicate), key=str):
                    if path:
                        add(
                            component,
                            f"FILTER NOT EXISTS {{ ?this {path[0]} {term(obj)} }}",
                            "?this",
                        )
                    else:
                        add(component, f"FILTER (!sameTerm(?this, {term(obj)}))", "?this")
            elif predicate == SH.disjoint and path:
                for obj in sorted(self.shapes.objects(shape, predicate), key=str):
                    if not isinstance(obj, rdflib.URIRef):
                        raise self.error(shape, "sh:disjoint with a value that is not an IRI")
                    add(component, f"{values} ?this {term(obj)} ?value .")
            elif predicate == SH.qualifiedValueShape and path:
                checks.extend(self.qualified_checks(shape, target, path, message, severity))
            else:
                raise self.error(
                    shape, f"{self.name(predicate)}" + ("" if path else " on a node shape")
                )
        for predicate in (SH.qualifiedMinCount, SH.qualifiedMaxCount):
            if (shape, predicate, None) in self.shapes and (
                shape,
                SH.qualifiedValueShape,
                None,
            ) not in self.shapes:
                raise self.error(shape, f"{self.name(predicate)} without sh:qualifiedValueShape")
        if (shape, SH.flags, None) in self.shapes and (shape, SH.pattern, None) not in self.shapes:
            raise self.error(shape, "sh:flags without sh:pattern")
        return checks

    def qualified_checks(
        self,
        shape: rdflib.term.Node,
        target: str,
        path: tuple[str, str],
        message: str | None,
        severity: str,
    ) -> list[Check]:
        if self.shapes.value(shape, SH.qualifiedValueShapesDisjoint) == rdflib.Literal(True):
            raise self.error(shape, "sh:qualifiedValueShapesDisjoint")
        inner = self.one(shape, SH.qualifiedValueShape)
        assert inner is not None
        condition = self.shape_condition(shape, inner)
        checks = []
        for predicate, op in ((SH.qualifiedMinCount, "<"), (SH.qualifiedMaxCount, ">")):
            if (shape, predicate, None) not in self.shapes:
                continue
            count = self.int_param(shape, predicate)
            component = _COMPONENT[predicate]
            query = (
                f"{self.prologue}\nSELECT ?this WHERE {{ {target} "
                f"OPTIONAL {{ ?this {path[0]} ?value . FILTER (COALESCE({condition}, false)) }} }} "
                f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) {op} {count})"
            )
            checks.append(
                Check(
                    str(shape),
                    component,
                    query,
                    message or _default_message(component, path),
                    severity,
                    path[1],
                )
            )
        return checks

    # -- value conditions (SPARQL expressions over ?value) -------------------

    def value_condition(
        self,
        shape: rdflib.term.Node,
        predicate: rdflib.URIRef,
        obj: rdflib.term.Node,
        var: str = "?value",
    ) -> str:
        """A SPARQL expression true when ``var`` conforms to the constraint (an error counts as
        false)."""
        if predicate == SH["class"]:
            return (
                f"(!isLiteral({var}) && "
                f"EXISTS {{ {var} <{RDF.type}>/<{RDFS.subClassOf}>* {term(obj)} }})"
            )
        if predicate == SH.datatype:
            if obj == RDF.langString:
                return f'(isLiteral({var}) && LANG({var}) != "")'
            if obj == RDFS.Literal:
                return f"isLiteral({var})"
            if obj in _LEXICAL:
                return (
                    f"(isLiteral({var}) && sameTerm(DATATYPE({var}), {term(obj)}) "
                    f"&& REGEX(STR({var}), {term(rdflib.Literal(_LEXICAL[obj]))}))"
                )
            if obj in _ANY_LEXICAL:
                return (
                    f'(isLiteral({var}) && LANG({var}) = "" '
                    f"&& sameTerm(DATATYPE({var}), {term(obj)}))"
                )
            raise self.error(shape, f"sh:datatype {self.name(obj)} (no lexical check for it)")
        if predicate == SH.nodeKind:
            if obj not in _NODE_KINDS:
                raise self.error(shape, f"sh:nodeKind {self.name(obj)}")
            return "(" + _NODE_KINDS[obj].replace("?v", var) + ")"
        if predicate in _RANGES:
            if not isinstance(obj, rdflib.Literal):
                raise self.error(shape, f"{self.name(predicate)} needs a literal")
            return f"(isLiteral({var}) && {var} {_RANGES[predicate]} {term(obj)})"
        if predicate in (SH.minLength, SH.maxLength):
            op = ">=" if predicate == SH.minLength else "<="
            length = int(obj.toPython()) if isinstance(obj, rdflib.Literal) else None
            if not isinstance(length, int):
                raise self.error(shape, f"{self.name(predicate)} must be an integer")
            return f"(!isBlank({var}) && STRLEN(STR({var})) {op} {length})"
        if predicate == SH.pattern:
            flags = self.one(shape, SH.flags)
            flag_arg = f", {term(rdflib.Literal(str(flags)))}" if flags is not None else ""
            return (
                f"(!isBlank({var}) && "
                f"REGEX(STR({var}), {term(rdflib.Literal(str(obj)))}{flag_arg}))"
            )
        if predicate == SH.languageIn:
            tags = [str(t) for t in _items(self.shapes, obj)]
            if not tags:
                return "false"
            matches = " || ".join(
                f"langMatches(LANG({var}), {term(rdflib.Literal(t))})" for t in tags
            )
            return f"(isLiteral({var}) && ({matches}))"
        if predicate == SH["in"]:
            members = _items(self.shapes, obj)
            if not members:
                return "false"
            return "(" + " || ".join(f"sameTerm({var}, {term(m)})" for m in members) + ")"
        if predicate == SH["not"]:
            return f"(!COALESCE({self.shape_condition(shape, obj, var)}, false))"
        if predicate in (SH["and"], SH["or"]):
            members = [
                f"COALESCE({self.shape_condition(shape, m, var)}, false)"
                for m in _items(self.shapes, obj)
            ]
            if not members:
                return "true" if predicate == SH["and"] else "false"
            return "(" + (" && " if predicate == SH["and"] else " || ").join(members) + ")"
        if predicate == SH.node:
            return self.shape_condition(shape, obj, var)
        raise self.error(shape, self.name(predicate))

    def shape_condition(
        self, outer: rdflib.term.Node, shape: rdflib.term.Node, var: str = "?value"
    ) -> str:
        """True when ``var`` conforms to ``shape``, a shape with value constraints only."""
        if self.deactivated(shape):
            return "true"
        for blocked in (SH.path, SH.property, SH.sparql):
            if (shape, blocked, None) in self.shapes:
                raise self.error(
                    outer, f"a nested shape ({self.name(shape)}) with {self.name(blocked)}"
                )
        parts = []
        for predicate in sorted(set(self.shapes.predicates(shape, None)), key=str):
            if predicate in _NOT_CONSTRAINTS or not str(predicate).startswith(str(SH)):
                continue
            if predicate == SH.hasValue:
                parts.extend(
                    f"sameTerm({var}, {term(o)})" for o in self.shapes.objects(shape, predicate)
                )
                continue
            if predicate not in _VALUE_CONSTRAINTS:
                raise self.error(
                    outer, f"a nested shape ({self.name(shape)}) with {self.name(predicate)}"
                )
            for obj in sorted(self.shapes.objects(shape, predicate), key=str):
                parts.append(f"COALESCE({self.value_condition(shape, predicate, obj, var)}, false)")
        return "(" + (" && ".join(parts) or "true") + ")"

    # -- messages -----------------------------------------------------------

    def message(self, shape: rdflib.term.Node) -> str | None:
        messages = sorted(
            self.shapes.objects(shape, SH.message),
            key=lambda m: (getattr(m, "language", None) not in (None, "en"), str(m)),
        )
        return str(messages[0]) if messages else None

    # -- SHACL-SPARQL -------------------------------------------------------

    def sparql_checks(self, shape: rdflib.term.Node, target: str) -> list[Check]:
        checks = []
        severity = str(self.shapes.value(shape, SH.severity) or SH.Violation).rsplit("#", 1)[-1]
        for constraint in sorted(self.shapes.objects(shape, SH.sparql), key=str):
            if self.deactivated(constraint):
                continue
            select = self.one(constraint, SH.select)
            if select is None:
                raise self.error(constraint, "a SPARQL constraint without sh:select")
            text = str(select)
            where = _WHERE.search(text)
            if where is None:
                raise self.error(constraint, "a sh:select without a WHERE group")
            if _PREBOUND.search(text):
                raise self.error(constraint, "a pre-bound variable other than $this")
            rewritten = text[: where.end()] + f" {target} " + text[where.end() :]
            rewritten = rewritten.replace("$this", "?this")
            message = (
                self.message(constraint) or self.message(shape) or "violates a SPARQL constraint"
            )
            checks.append(
                Check(
                    str(shape),
                    _COMPONENT[SH.sparql],
                    f"{self.prologue}\n{rewritten}",
                    message,
                    severity,
                    None,
                )
            )
        return checks


def _prefixes(shapes: rdflib.Graph) -> str:
    lines = []
    for declaration in sorted(shapes.objects(None, SH.declare), key=str):
        prefix = shapes.value(declaration, SH.prefix)
        namespace = shapes.value(declaration, SH.namespace)
        if prefix is not None and namespace is not None:
            lines.append(f"PREFIX {prefix}: <{namespace}>")
    lines.append(f"PREFIX rdf: <{RDF}>")
    lines.append(f"PREFIX rdfs: <{RDFS}>")
    return "\n".join(dict.fromkeys(lines))


def _default_message(component: str, path: tuple[str, str] | None) -> str:
    where = f" on {path[1]}" if path else ""
    return (
        f"violates sh:{component[0].lower()}"
        f"{component[1:].removesuffix('ConstraintComponent')}{where}"
    )


def compile_shapes(shapes: rdflib.Graph, source: Path | None = None) -> list[Check]:
    """Every constraint of ``shapes`` as a :class:`Check`; :class:`ShapeError`
    for what is not supported.

    ``source``, the file ``shapes`` was read from, is only used to name the
    shape's line in errors.
    """
    return _Compiler(shapes, source).compile()
