"""The ``dipkg`` command: build, query, diff, publish, serve.

Every expected failure prints one line ``file:line[:column]: error[code]: message``
on standard error and exits 1; never a traceback (set DIPKG_DEBUG=1 to see one).

Why one module: one command, one function per subcommand, each
mostly arguments and the one-line error contract; the work is in the modules it calls.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dipkg import __version__
from dipkg.core.errors import ConfigError, DipkgError
from dipkg.core.publish_plan import plan
from dipkg.core.release import hold_current, open_release
from dipkg.core.search_index import SearchError, SearchIndex
from dipkg.core.settings import get_settings

if TYPE_CHECKING:
    from rich.console import Console


class _Console:
    """A rich ``Console`` made on first use: ``dipkg serve`` prints through it only when it
    fails, so the server's process need not load rich (~1.5 MB, tests/test_serve_imports.py)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console  # lazy: see the class

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="dipkg: build and publish the data-IP application scenario knowledge graph.",
    pretty_exceptions_enable=False,
)
out = _Console(soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)

SHOWN_CORRECTIONS = 20  # the build summary lists at most this many corrections


def _version(value: bool) -> None:
    if value:
        out.print(f"dipkg {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """dipkg: build and publish the data-IP application scenario knowledge graph."""


DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Build output folder to read (default: DIPKG_DATA_DIR or ./data)."),
]


@app.command()
def build(
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: DIPKG_DATA_DIR or ./data)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Build the knowledge graph: source -> RDF -> validated dumps and Oxigraph store."""
    from kg.build import build as run_build  # lazy: `dipkg --help` need not load the build

    settings = get_settings()
    target = out_dir or settings.data_dir
    if quiet:
        result = run_build(target, settings)
    else:
        with err.status("building…") as status:
            result = run_build(target, settings, log=lambda m: status.update(f"{m}…"))
    if quiet:
        return
    m = result.manifest
    c = m.counts
    out.print(f"[bold]dipkg build[/bold] {m.build_id} → {target}/current")
    out.print(
        f"  guides {c.guides}  domains {c.domains}  scenarios {c.scenarios}  "
        f"categories {c.categories}  fields {c.fields}  triples {c.triples}"
    )
    from kg.changes import summary_text  # lazy: `dipkg --help` need not load the build

    previous = m.previous.to_json() if m.previous is not None else None
    what = {**m.changes.summary_json(), "old": previous, "new": {"version": m.version}}
    out.print(
        f"  {summary_text(what, 'en')}" + (" (dipkg diff for details)" if previous else ""),
        highlight=False,
    )
    fired = m.corrections
    out.print(f"  corrections applied: {sum(1 for f in fired if f.fired)}/{len(fired)}")
    for f in fired[:SHOWN_CORRECTIONS]:
        out.print(
            f"    {f.guide} #{f.scenario}: {f.match}  [dim]({f.reason})[/dim]",
            highlight=False,
        )
    if len(fired) > SHOWN_CORRECTIONS:
        out.print(
            f"    … and {len(fired) - SHOWN_CORRECTIONS} more (all listed in "
            f"{target}/current/manifest.json)",
            highlight=False,
        )
    out.print("  dumps: " + ", ".join(d.file for d in m.dumps))
    out.print(f"  time: {result.seconds:.2f} s")
    publication = m.publication
    if publication.placeholders:
        keys = ", ".join(f"DIPKG_CATALOG__{k.upper()}" for k in publication.placeholders)
        err.print(
            "warning: not configured for publication: "
            "the catalogue's publisher and contact are the shipped "
            f"placeholders ({settings.catalog.contact_email}); set {keys} (docs/catalogue.md)",
            highlight=False,
        )
    if publication.to_fill:
        err.print(
            "warning: the Chinese catalogue record (dipkg-catalogue-cn.json) has elements to fill "
            f"in: {'、'.join(publication.to_fill)}; set DIPKG_CATALOG__CN__… (docs/catalogue.md)",
            highlight=False,
        )


@app.command()
def query(
    sparql: Annotated[
        str, typer.Argument(help="A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE).")
    ],
    data: DataOption = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table (default), csv, tsv, json, xml; for graphs turtle "
            "(default), ntriples, jsonld, rdfxml, nquads, trig. Any name /sparql's "
            "?format= takes for the query's form (json for a CONSTRUCT is JSON-LD).",
        ),
    ] = "table",
    timeout: Annotated[
        float | None,
        typer.Option(help="Time limit in seconds (default: the endpoint's, DIPKG_QUERY_TIMEOUT)."),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option("--max-rows", help="Row cap (default: the endpoint's, DIPKG_MAX_ROWS)."),
    ] = None,
) -> None:
    """Run a query against the built store with the endpoint's limits, and print the result."""
    from sparql_api.query import run_query  # lazy: `dipkg --help` need not load the web app

    settings = get_settings()
    run_query(
        sparql,
        data or settings.data_dir,
        fmt,
        out.console,
        settings=settings,
        timeout=timeout,
        max_rows=max_rows,
        err=err.console,
    )


@app.command()
def match(
    fields: Annotated[
        str,
        typer.Argument(
            help="The data you hold: names separated by 、，, ; or new lines, "
            'in Chinese or English, e.g. "土壤墒情、降雨量、施肥量".'
        ),
    ],
    data: DataOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table (default) or json.")] = "table",
    limit: Annotated[int, typer.Option(help="Show at most this many scenarios.")] = 10,
) -> None:
    """Which scenarios fit my data? Ranked by how much of it each involves (from the release's
    search index)."""

    if fmt not in ("table", "json"):
        raise SearchError(f"unknown format {fmt!r} (table or json)")
    release = open_release(data or get_settings().data_dir, need_store=False)
    result = SearchIndex.load(release.root).match(fields, limit=limit)
    if fmt == "json":
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    for f in result["fields"]:
        kind = (
            f"{f['concept']['label']['zh']} ({f['concept']['label']['en']}) [{f['how']}]"
            if f["concept"]
            else "-- not recognised"
        )
        out.print(f"{f['input']} → {kind}", markup=False, highlight=False)
    if not result["scenarios"]:
        out.print("no scenario involves this data", markup=False)
    for s in result["scenarios"]:
        out.print(
            f"\n{s['number']:>3}. {s['label']['zh']} ({s['label']['en']}): "
            f"{s['matched']} of your fields, "
            f"{round(100 * s['coverage'])}% of its data kinds",
            markup=False,
            highlight=False,
        )
        for m in s["matches"]:
            path = " › ".join(c["label"]["zh"] for c in m["path"])
            out.print(
                f"       {m['input']} ↔ {m['item']['label']['zh']} "
                f"({m['relation']}{': ' + path if path else ''})",
                markup=False,
                highlight=False,
            )
        if s["missing"]:
            more = (
                f" … (+{s['missing_total'] - len(s['missing'])})"
                if s["missing_total"] > len(s["missing"])
                else ""
            )
            out.print(
                "       also needs: "
                + "、".join(c["label"]["zh"] for c in s["missing"][:12])
                + (" …" if len(s["missing"]) > 12 else more),
                markup=False,
                highlight=False,
            )


@app.command()
def publish(
    to: Annotated[
        str, typer.Option("--to", help="Graph Store Protocol endpoint, e.g. http://host:7878/store")
    ],
    data: DataOption = None,
    graph: Annotated[
        str | None, typer.Option(help="Named graph for the data (default: {base}graph/data).")
    ] = None,
    auth: Annotated[
        str, typer.Option(help="With credentials: basic (default) or digest (e.g. Virtuoso).")
    ] = "basic",
    user: Annotated[
        str | None,
        typer.Option(help="User name (default: DIPKG_PUBLISH_USER, or user@ in the URL)."),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File holding the password (default: "
            "DIPKG_PUBLISH_PASSWORD_FILE; or DIPKG_PUBLISH_PASSWORD). Keeps it out of `ps`.",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Time limit of the whole upload, seconds (default: DIPKG_PUBLISH_TIMEOUT "
            "or 600); a rollback gets at most min(this, 120 s) more."
        ),
    ] = None,
    update: Annotated[
        str | None,
        typer.Option(
            help="The store's SPARQL Update endpoint (e.g. http://host:7878/update): stage "
            "every graph, then switch them all in one update request, instead of roll back."
        ),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(
            help="With --update: the store's SPARQL query endpoint, where staging graphs an "
            "earlier failed publish left are found (then dropped). Default: the --update URL "
            "ending /query instead of /update, else the --update URL itself."
        ),
    ] = None,
) -> None:
    """Load the built graph into an existing triple store (SPARQL 1.1 Graph Store HTTP Protocol),
    all or nothing."""
    # lazy: only `dipkg publish` draws a progress bar
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    # lazy: `dipkg --help` need not load the build (httpx, the publisher)
    from kg.publish import PublishError, check_target
    from kg.publish import publish as run_publish

    settings = get_settings()
    check_target(to)  # a bad URL is one line before anything else
    if update:
        check_target(update, "--update")
    if query:
        check_target(query, "--query")
    if timeout is not None and not timeout > 0:
        raise PublishError(f"--timeout must be a positive number of seconds, not {timeout:g}")
    release, lease = hold_current(data or settings.data_dir)  # no build prunes it meanwhile
    with lease:
        uploads = plan(release, graph)
        secret = settings.publish_password
        notices: list[str] = []
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=err.console,
            transient=True,
        ) as bar:
            tasks = {
                u.graph: bar.add_task(f"PUT <{u.graph}>", total=u.path.stat().st_size)
                for u in uploads
            }
            done = run_publish(
                release,
                to,
                graph=graph,
                auth=auth,
                timeout=timeout or settings.publish_timeout,
                user=user or settings.publish_user,
                password=secret.get_secret_value() if secret is not None else None,
                password_file=password_file or settings.publish_password_file,
                update=update,
                query=query,
                progress=lambda u, n: bar.advance(tasks[u.graph], n),
                notice=notices.append,
            )
    for upload, status in done:
        out.print(f"published {upload.path.name} → <{upload.graph}> (HTTP {status})")
    for line in notices:
        (err if line.startswith("warning:") else out).print(line, markup=False, highlight=False)


@app.command()
def diff(
    old: Annotated[
        str,
        typer.Argument(
            help="The older release: a release folder, a build output folder or a build id."
        ),
    ],
    new: Annotated[str, typer.Argument(help="The newer release, given the same ways.")],
    data: DataOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text (default) or json.")] = "text",
) -> None:
    """What changed between two releases: scenarios, categories and fields added, removed,
    changed."""
    from kg import changes  # lazy: `dipkg --help` need not load the build

    if fmt not in ("text", "json"):
        raise ConfigError(f"unknown --format {fmt!r}: text or json", file="--format")
    data_dir = data or get_settings().data_dir
    result = changes.diff(changes.resolve(old, data_dir), changes.resolve(new, data_dir))
    sys.stdout.write(changes.to_json(result) if fmt == "json" else changes.render_text(result))


@app.command()
def serve(
    data: DataOption = None,
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    sparql_backend: Annotated[
        str | None,
        typer.Option(
            "--sparql-backend",
            help="Query this SPARQL endpoint (holding `dipkg publish`'s graph) instead of "
            "the local store (default: DIPKG_SPARQL_BACKEND; see docs/remote-backend.md).",
        ),
    ] = None,
    build_if_missing: Annotated[
        bool,
        typer.Option(
            "--build-if-missing",
            help="Build the graph into the data folder first if it holds no release "
            "(a container's first start).",
        ),
    ] = False,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log every request (default: on; DIPKG_ACCESS_LOG).",
        ),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            help="text (default) or json: one JSON object per line (DIPKG_LOG_FORMAT).",
        ),
    ] = None,
) -> None:
    """Serve the built store: SPARQL endpoint at /sparql, pages, dumps."""
    settings = get_settings()
    if log_format is not None and log_format not in ("text", "json"):
        raise DipkgError(f"unknown --log-format {log_format!r}: use text or json")
    update = {"sparql_backend": sparql_backend, "access_log": access_log, "log_format": log_format}
    settings = settings.model_copy(update={k: v for k, v in update.items() if v is not None})
    target = data or settings.data_dir
    if build_if_missing and not (Path(target) / "current").exists():
        from kg.build import build as run_build  # lazy: `dipkg --help` need not load the build

        err.print(f"dipkg: no release in {target} yet: building it", highlight=False, markup=False)
        result = run_build(target, settings)
        err.print(
            f"dipkg: built {result.manifest.build_id} in {result.seconds:.1f} s", highlight=False
        )
    # lazy: `dipkg --help` need not load the web app; the build never imports it
    from sparql_api.server import run

    run(settings, target, host or settings.host, port or settings.port)


def main() -> None:
    try:
        app()
    except DipkgError as exc:
        err.print(str(exc), markup=False)
        if os.environ.get("DIPKG_DEBUG"):
            raise
        details = exc.details.get("violations") if exc.details else None
        for violation in (details or [])[1:20]:
            err.print(f"  {json.dumps(violation, ensure_ascii=False)}", markup=False)
        missing = exc.details.get("missing") if exc.details else None
        for entry in (missing or [])[:500]:  # what a new batch needs in a curated table
            err.print(f"  missing: {json.dumps(entry, ensure_ascii=False)}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, with a way to see more
        if os.environ.get("DIPKG_DEBUG"):
            raise
        err.print(
            f"error[internal]: {type(exc).__name__}: {exc} (set DIPKG_DEBUG=1 for a traceback)",
            markup=False,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
