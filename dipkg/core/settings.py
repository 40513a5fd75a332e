"""The one settings object of dipkg.

Every value has a default that needs no configuration. Override with
environment variables prefixed ``DIPKG_`` (nested values with ``__``, e.g.
``DIPKG_CATALOG__PUBLISHER_NAME_EN``) or with a TOML file named by
``DIPKG_CONFIG`` (default: ``dipkg.toml`` in the working directory, if present).
Environment beats file beats default.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from dipkg.core.errors import ConfigError, closest

DEFAULT_BASE_IRI = "https://w3id.org/dipkg/"
#: ``memory_store_mb = "auto"``: the store's in-memory copies (one a worker and the fork
#: server's, at worst) may take this fraction of the memory the server may use: 1/8
MEMORY_STORE_SHARE = 8


SHARING_TYPES = ("无条件共享", "有条件共享", "不予共享")
OPENING_TYPES = ("无条件开放", "有条件开放", "不予开放")
#: SPDX ids of the licences a record here is likely to use (the licence's dct:identifier).
SPDX_IDS = {
    "https://creativecommons.org/licenses/by/4.0/": "CC-BY-4.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "CC-BY-SA-4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0-1.0",
}
PLACEHOLDER_EMAIL_DOMAINS = ("example.org", "example.com", "example.net")


class CnCatalogSettings(BaseModel):
    """The Chinese government resource-catalogue record (kg/catalog_cn.py, docs/catalogue.md).

    Only what the data cannot say. Every default is empty: "to be filled in by the
    publisher" (the record lists such elements under ``待填写``); nothing is guessed.
    ``DIPKG_CATALOG__CN__<KEY>``, e.g. ``DIPKG_CATALOG__CN__SHARING_TYPE=无条件共享``.
    """

    model_config = ConfigDict(extra="forbid")  # a mistyped key is an error

    class_code: str = ""  # 信息资源分类：类
    item_code: str = ""  # 信息资源分类：项
    heading_code: str = ""  # 信息资源分类：目
    subheading_code: str = ""  # 信息资源分类：细目
    provider_name: str = ""  # 信息资源提供方; "" = publisher_name_zh
    provider_code: str = ""  # 信息资源提供方代码 (assigned by the catalogue authority)
    resource_codes: dict[
        str, str
    ] = {}  # 信息资源代码 by dump file name (assigned by the catalogue authority)
    sharing_type: str = ""  # 共享类型: one of SHARING_TYPES
    sharing_condition: str = ""  # 共享条件 (needed by 有条件共享 and 不予共享)
    sharing_method: str = ""  # 共享方式
    opening_type: str = ""  # 开放类型: one of OPENING_TYPES
    opening_condition: str = ""  # 开放条件 (needed by 有条件开放 and 不予开放)
    update_cycle: str = ""  # 更新周期, e.g. 不定期

    @field_validator("sharing_type")
    @classmethod
    def _sharing(cls, value: str) -> str:
        if value not in ("", *SHARING_TYPES):
            raise ValueError(f"共享类型 must be one of {', '.join(SHARING_TYPES)} (or empty)")
        return value

    @field_validator("opening_type")
    @classmethod
    def _opening(cls, value: str) -> str:
        if value not in ("", *OPENING_TYPES):
            raise ValueError(f"开放类型 must be one of {', '.join(OPENING_TYPES)} (or empty)")
        return value


class CatalogSettings(BaseModel):
    """What the build writes into the catalogue record (DCAT-AP, VoID, schema.org).

    Every key is documented in docs/catalogue.md (environment variable
    ``DIPKG_CATALOG__<KEY>``, e.g. ``DIPKG_CATALOG__VERSION``; lists as JSON).
    EU vocabulary codes (themes, spatial, frequency, access rights, publisher
    type) must be among the concepts shipped in build/catalog/eu-vocabularies.ttl.
    """

    model_config = ConfigDict(extra="forbid")  # a mistyped key is an error

    publisher_iri: str = ""  # "" = {base_iri}publisher
    publisher_name_zh: str = "dipkg 数据知识产权知识图谱项目组"
    publisher_name_en: str = "dipkg data-IP knowledge graph team"
    publisher_homepage: str = ""  # "" = base_iri
    publisher_type: str = "NonProfitOrganisation"  # ADMS publisher type code; "" = none
    contact_email: str = "dipkg@example.org"
    license_iri: str = "https://creativecommons.org/licenses/by/4.0/"
    # The title CKAN's default licence register gives CC BY ("cc-by"): ckanext-dcat sets a
    # dataset's license_id by the licence's IRI, else by this title (docs/catalogue.md, CKAN).
    license_title: str = "Creative Commons Attribution"
    license_spdx: str = (
        ""  # SPDX licence id, the licence's dct:identifier; "" = from SPDX_IDS by license_iri
    )
    license_type: str = "Attribution"  # ADMS licence type code; "" = none
    # "" = derived by the build (README, "Updating the data"): version = the release number,
    # modified = the inputs' date, issued = the first release's date; set them to override
    version: str = ""
    issued: str = ""
    modified: str = ""
    title_zh: str = "数据知识产权应用场景知识图谱"
    title_en: str = "Knowledge graph of data intellectual property application scenarios"
    description_zh: str = (
        "第一批贵州省数据知识产权应用场景指引（附件2）的关联数据知识图谱：5 个领域、23 个应用场景，"
        "每个场景涉及的数据类别与数据项，中英文标签，每个三元组可追溯到源文件的单元格。"
        "提供 Turtle、JSON-LD、N-Triples 与 CSV 下载及 SPARQL 查询服务。"
    )
    description_en: str = (
        "A linked-data knowledge graph of the first batch of Guizhou Province's guidance on data "
        "intellectual property application scenarios (Annex 2): 5 domains, 23 application "
        "scenarios, the data categories and data fields each scenario involves, "
        "labelled in Chinese and English, "
        "every triple traceable to its cell in the source document. Downloads in Turtle, JSON-LD, "
        "N-Triples and CSV, and a SPARQL endpoint."
    )
    keywords_zh: list[str] = [
        "数据知识产权",
        "应用场景",
        "贵州省",
        "知识图谱",
        "数据要素",
        "关联数据",
    ]
    keywords_en: list[str] = [
        "data intellectual property",
        "application scenarios",
        "Guizhou",
        "knowledge graph",
        "data elements",
        "linked data",
    ]
    catalog_title_zh: str = "dipkg 数据目录"
    catalog_title_en: str = "dipkg data catalogue"
    catalog_description_zh: str = "dipkg 项目发布的数据集及其 SPARQL 查询服务。"
    catalog_description_en: str = (
        "Datasets published by the dipkg project, and their SPARQL endpoint."
    )
    themes: list[str] = ["ECON", "TECH"]  # EU data-theme codes
    spatial: list[str] = ["CHN"]  # EU country codes
    accrual_periodicity: str = "IRREG"  # EU frequency code
    access_rights: str = "PUBLIC"  # EU access-right code
    availability: str = "AVAILABLE"  # EU planned-availability code (of every distribution)
    cn: CnCatalogSettings = CnCatalogSettings()  # the Chinese resource-catalogue record

    def license_identifier(self) -> str:
        """The licence's SPDX id: ``license_spdx``, else the known id of ``license_iri``,
        else ""."""
        return self.license_spdx or SPDX_IDS.get(self.license_iri, "")

    def placeholders(self) -> list[str]:
        """The keys that still hold the shipped placeholders (publisher, contact): a release
        built with them is not configured for publication (``dipkg build`` warns, ``/health``
        says so)."""
        out = [
            key
            for key in ("publisher_name_zh", "publisher_name_en")
            if getattr(self, key) == type(self).model_fields[key].default
        ]
        domain = self.contact_email.rpartition("@")[2].lower()
        if (
            self.contact_email == type(self).model_fields["contact_email"].default
            or domain in PLACEHOLDER_EMAIL_DOMAINS
        ):
            out.append("contact_email")
        return out

    @field_validator("issued", "modified")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        if value == "":
            return value

        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise ValueError("dates are written YYYY-MM-DD") from None
        if len(value) != 10:
            raise ValueError("dates are written YYYY-MM-DD")
        return value

    @field_validator("publisher_iri", "publisher_homepage", "license_iri")
    @classmethod
    def _http_iri(cls, value: str, info: ValidationInfo) -> str:
        if value == "" and info.field_name != "license_iri":
            return value  # publisher_iri / publisher_homepage: derived from base_iri
        if (
            not value.startswith(("http://", "https://"))
            or not value.isascii()
            or any(c in value for c in ' <>"{}|\\^`')
        ):
            raise ValueError("an ASCII http(s) IRI is expected")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DIPKG_",
        env_nested_delimiter="__",
        # a key of dipkg.toml (or a DIPKG_A__B part) no setting has is an error naming it,
        # not a default taken in silence; unknown DIPKG_ variables stay unread (the
        # environment holds others: DIPKG_CONFIG)
        extra="forbid",
    )

    # --- build -----------------------------------------------------------
    base_iri: str = Field(
        DEFAULT_BASE_IRI,
        description="Base of every resource IRI the build mints (must end with '/').",
    )
    data_dir: Path = Field(
        Path("data"), description="Where `dipkg build` writes and `dipkg serve` reads."
    )
    inputs_dir: Path | None = Field(
        None,
        description="The build's input folder (guides.toml, sources, tables); "
        "default: the project's build/.",
    )
    catalog: CatalogSettings = CatalogSettings()

    # --- serve -----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    query_timeout: float = Field(10.0, gt=0, description="Hard time limit per query, seconds.")
    max_rows: int = Field(10_000, gt=0, description="Row cap of a SELECT result.")
    max_query_bytes: int = Field(64 * 1024, gt=0, description="Longest accepted query text, bytes.")
    max_result_bytes: int = Field(
        64 * 1024 * 1024,
        gt=0,
        description="Largest serialised query result, bytes; a larger one gets 503.",
    )
    query_workers: int = Field(
        4,
        gt=0,
        description="Worker processes that evaluate queries (about 40 MB each). Four, so that with "
        "one query per client (client_queries) three clients holding runaway queries "
        "still leave one free.",
    )
    worker_memory_mb: int = Field(
        2048,
        gt=0,
        description="Memory cap of one query worker (MiB); a query that needs more gets 503.",
    )
    worker_retire_mb: int = Field(
        128,
        ge=0,
        description=(
            "A query worker whose memory grew by more than this (MiB) since it started "
            "answers and is replaced, so one large result does not keep the memory it "
            "needed (0: never)."
        ),
    )
    memory_store_mb: int | Literal["auto"] = Field(
        "auto",
        description="The query workers evaluate on an in-memory copy of the store (3-4x faster on "
        "joins and scans than the store on disk) when the copy fits in this many MiB (the real "
        "graph: about 6; 100x synthetic scale: about 170); a larger store, or 0, and they read "
        "the store on disk. The copy is shared at first, but a worker's reads make the pages it "
        "touches its own: count up to (query_workers + 1) copies, twice that while a new "
        "release takes over. auto: an eighth of the memory this server may use (the machine's, "
        "or its cgroup's limit), shared by those query_workers + 1 copies.",
    )
    worker_sandbox: bool = Field(
        True,
        description="Drop each query worker into an empty network namespace (Linux unshare) "
        "and under a seccomp filter refusing it network sockets (Linux x86-64, AArch64): "
        "second walls behind the SERVICE guard. The filter holds where the OS refuses the "
        "namespace (Docker's default seccomp profile); /health says which hold. With false, "
        "neither: the workers run with the network and the server logs a warning.",
    )
    access_log: bool = Field(
        True,
        description="`dipkg serve` logs every request (method, path, status, bytes, "
        "time, client, request id); 5xx are logged even when false.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="`dipkg serve`'s log lines: text, "
        "or one JSON object per line for log shippers.",
    )
    reload_interval: float = Field(
        1.0,
        ge=0,
        description="`dipkg serve`: seconds between checks of DIR/current for a new build "
        "(README, Updating the data); 0: only on SIGHUP.",
    )
    # --- connections (sparql_api/connections.py; README "Reliability") ---
    max_header_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest request head (request line and headers), bytes: more gets 431.",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a connection may take to send a complete request (head and body) "
        "once idle.",
    )
    idle_timeout: float = Field(
        5.0, gt=0, description="Seconds an idle keep-alive connection stays open."
    )
    send_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a response may stall on a client that does not read; "
        "then it is dropped.",
    )
    max_connections: int = Field(
        4096,
        gt=0,
        description="Open connections at most (lowered to fit the open-file limit); idle ones "
        "are closed first to make room.",
    )
    client_queries: int = Field(
        1,
        ge=0,
        description="Queries one client address may have in the workers at once (the rest wait in "
        "its own queue, served in turn with other clients'; idle workers are lent beyond it "
        "and taken back when another client waits); 0 = no per-client limit.",
    )
    client_queue: int = Field(
        64,
        ge=0,
        description="Queries one client address may have waiting or on lent workers; more get 429.",
    )
    spool_mb: int = Field(
        1024,
        gt=0,
        description="Bytes (MiB) that large results being streamed from spool files may hold "
        "together (the files are under TMPDIR: RAM if it is a tmpfs); a result that would "
        "exceed it gets 503 spool-full.",
    )
    response_cache_mb: int = Field(
        16,
        ge=0,
        description="Memory for finished answers kept to serve repeats without a worker (MiB; "
        "half for the fast path's whole responses, a quarter each for SPARQL results and "
        "pages); 0 = keep none.",
    )
    response_cache_min_uses: int = Field(
        2,
        ge=1,
        description="An answer (a query's, or any other in the fast path's cache) is kept for "
        "repeats from the N-th time it is made while its key is remembered (about 1,400 "
        "keys with the default memory); 1 = from the first, which lets a flood of one-off "
        "queries push the repeated answers out. Pages are rendered once either way.",
    )
    sparql_hot_path: bool = Field(
        True,
        description="Answer the common /sparql query requests on a bare ASGI path, without the "
        "web framework's routing (the same responses, faster); false: through the framework.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDR networks of reverse proxies whose X-Forwarded-* "
        "headers are honoured (JSON list); default: none.",
    )
    sparql_backend: str | None = Field(
        None,
        description="Remote mode of `dipkg serve` (docs/remote-backend.md): "
        "URL of an external SPARQL query "
        "endpoint holding the published graph (`dipkg publish`); "
        "queries and pages go there instead of the "
        "local store. None: the local store (worker processes).",
    )
    sparql_backend_user: str | None = Field(
        None, description="User name for the SPARQL backend (HTTP basic)."
    )
    sparql_backend_password: SecretStr | None = Field(
        None, description="Its password (DIPKG_SPARQL_BACKEND_PASSWORD); prefer the password file."
    )
    sparql_backend_password_file: Path | None = Field(
        None,
        description="A file holding the backend's password (first line): "
        "nothing in `ps` or the environment.",
    )
    sparql_backend_max_bytes: int | None = Field(
        None,
        gt=0,
        description="Largest backend answer read, bytes (None: max(16 MiB, max_rows x 4 KiB)).",
    )

    # --- publish ---------------------------------------------------------
    publish_user: str | None = Field(None, description="User name for `dipkg publish`'s target.")
    publish_password: SecretStr | None = Field(
        None, description="Its password (DIPKG_PUBLISH_PASSWORD); prefer the password file."
    )
    publish_password_file: Path | None = Field(
        None,
        description="A file holding the target's password "
        "(DIPKG_PUBLISH_PASSWORD_FILE or --password-file).",
    )
    publish_timeout: float = Field(
        600.0,
        gt=0,
        description="Time limit of a whole `dipkg publish` "
        "(every request, rollback included), seconds.",
    )

    def memory_store_bytes(self, memory: int | None = None) -> int:
        """The largest in-memory copy of the store the workers may share, in bytes (0: none):
        :attr:`memory_store_mb`, or for ``auto`` 1/:data:`MEMORY_STORE_SHARE` of ``memory``
        (default: :func:`usable_memory`) divided among the query workers and the fork server
        (each may come to hold a copy of its own)."""
        if self.memory_store_mb != "auto":
            return self.memory_store_mb * 1024 * 1024
        memory = usable_memory() if memory is None else memory
        return memory // MEMORY_STORE_SHARE // (self.query_workers + 1)

    def cache_bytes(self, share: float) -> int:
        """``share`` of :attr:`response_cache_mb`, in bytes."""
        return int(self.response_cache_mb * 1024 * 1024 * share)

    @field_validator("memory_store_mb", mode="before")
    @classmethod
    def _mib_or_auto(cls, value: Any) -> Any:
        text = str(value).strip()
        if text == "auto":
            return "auto"
        number = text.removeprefix("-")
        if isinstance(value, bool) or not (number.isascii() and number.isdigit()):
            raise ValueError("should be a whole number of MiB (0: no copy) or auto")
        if number != text:
            raise ValueError("should be 0 or more MiB, or auto")
        return int(text)

    @field_validator("base_iri")
    @classmethod
    def _base_iri_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or not value.endswith("/"):
            raise ValueError("base_iri must be an http(s) IRI ending with '/'")
        if not value.isascii() or any(c in value for c in ' <>"{}|\\^`'):
            raise ValueError('base_iri must be ASCII without spaces or <>"{}|\\^`')
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or CIDR network: {item!r}") from None
        return [item.strip() for item in value]

    @model_validator(mode="after")
    def _spool_holds_a_result(self) -> Settings:
        if self.spool_mb * 1024 * 1024 < self.max_result_bytes:
            raise ValueError(
                f"spool_mb ({self.spool_mb} MiB, DIPKG_SPOOL_MB) is smaller than "
                f"max_result_bytes ({self.max_result_bytes} bytes, DIPKG_MAX_RESULT_BYTES): a "
                "result the endpoint allows could never be streamed; raise the first or lower "
                "the second"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = _config_path()
        _check_named_config(config)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)


#: cgroup limits at or over this are "no limit" (v1 writes 2^63 rounded down to a page)
NO_CGROUP_LIMIT = 1 << 60


def cgroup_limit_files(
    proc_cgroup: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup"
) -> list[str]:
    """The files that may cap this process's memory: for each hierarchy of
    ``proc_cgroup`` with a memory controller (v2's ``0::PATH``, v1's ``N:...memory...:PATH``),
    the limit of its own cgroup and of each cgroup above it (a systemd unit's
    ``MemoryMax=`` is in its own, a container's in its namespace's root); then the top
    level's, for a hierarchy not mounted where ``proc_cgroup`` says."""
    files: list[str] = []
    try:
        lines = Path(proc_cgroup).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            base, name = Path(root), "memory.max"
        elif "memory" in controllers.split(","):
            base, name = Path(root) / "memory", "memory.limit_in_bytes"
        else:
            continue
        parts = [part for part in path.split("/") if part]
        if ".." in parts:  # outside this namespace's view: only the top level is readable
            continue
        files += [str(base.joinpath(*parts[:i], name)) for i in range(len(parts), -1, -1)]
    return files + [f"{root}/memory.max", f"{root}/memory/memory.limit_in_bytes"]


def usable_memory(limits: list[str] | None = None) -> int:
    """Bytes of memory this process may use: the machine's, or less where a cgroup caps it
    (the lowest limit of ``limits``, by default :func:`cgroup_limit_files`); 0 where
    neither is known."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        total = 0
    for limit in cgroup_limit_files() if limits is None else limits:
        try:
            text = Path(limit).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) < NO_CGROUP_LIMIT:
            continue  # "max", v1's "no limit", or not a limit
        if total <= 0 or int(text) < total:
            total = int(text)
    return max(total, 0)


def _is_secret(loc: tuple[Any, ...]) -> bool:
    """Whether the setting at ``loc`` holds a secret (its value is never shown)."""
    model: Any = Settings
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return False
        if "SecretStr" in str(field.annotation):
            return True
        model = field.annotation
    return False


def _config_path() -> Path:
    """The TOML settings file: ``DIPKG_CONFIG``, or ./dipkg.toml."""
    return Path(os.environ.get("DIPKG_CONFIG") or "dipkg.toml")


def _check_named_config(config: Path) -> None:
    """A file named by ``DIPKG_CONFIG`` must be there: a mistyped path would otherwise leave
    every setting at its default without a word (./dipkg.toml stays optional)."""
    if not os.environ.get("DIPKG_CONFIG"):
        return
    if not config.exists():
        raise ConfigError(f"the settings file {str(config)!r} does not exist", file="DIPKG_CONFIG")
    if config.is_dir():
        raise ConfigError(
            f"the settings file {str(config)!r} is a folder, not a TOML file", file="DIPKG_CONFIG"
        )


def _variable(loc: tuple[Any, ...]) -> str | None:
    """The ``DIPKG_`` variable that set the value at ``loc`` (or a setting holding it: a
    list or table given as JSON), if one is set."""
    environ = {name.upper() for name in os.environ}
    for n in range(len(loc), 0, -1):
        name = "DIPKG_" + "__".join(str(part).upper() for part in loc[:n])
        if name in environ:
            return name
    return None


def _in_file(config: Path, loc: tuple[Any, ...]) -> bool:
    """Whether dipkg.toml (``config``) holds the key at ``loc`` (or one holding it)."""
    try:
        node: Any = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    for part in loc:
        if not isinstance(node, dict) or str(part) not in node:
            return False
        node = node[str(part)]
        if not isinstance(node, dict):
            return True
    return True


def _where(loc: tuple[Any, ...]) -> dict[str, str]:
    """Where the value at ``loc`` came from: its variable, dipkg.toml's key (the file is
    the place), or the setting's name (a value given in code)."""
    key = ".".join(map(str, loc))
    variable = _variable(loc)
    if variable is not None:
        return {"variable": variable}
    config = _config_path()
    if config.is_file() and _in_file(config, loc):
        return {"file": str(config), "key": key}
    return {"setting": key}


def _unknown_key(loc: tuple[Any, ...], variable: bool = False) -> str:
    """The message for a key no setting has at ``loc``: the closest one there, if any (as a
    ``DIPKG_`` variable when the key came from one)."""
    model: Any = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if hasattr(model, "model_fields") else None
        model = field.annotation if field is not None else None
    known = list(getattr(model, "model_fields", {}))
    close = closest(str(loc[-1]) if loc else "", known)
    path = [*map(str, loc[:-1]), close] if close else []
    meant = "DIPKG_" + "__".join(path).upper() if variable else ".".join(path)
    hint = f"; did you mean {meant!r}?" if close else ""
    return f"no such setting{hint} (docs/catalogue.md and README.md list them)"


def config_error(exc: PydanticValidationError) -> ConfigError:
    """``exc`` (Settings refused a value) as one :class:`ConfigError` naming where each bad
    value came from: the ``DIPKG_`` variable, else dipkg.toml's key (the file is the
    place), else the setting. A secret's value is never repeated."""
    problems: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error.get("loc") or ())
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        unknown = error.get("type") == "extra_forbidden"
        problem: dict[str, Any] = {"message": message}
        if loc:
            problem.update(_where(loc))
            value = error.get("input")
            if unknown:  # its value is never repeated: it may be a secret under a wrong name
                problem["message"] = _unknown_key(loc, "variable" in problem)
            elif not _is_secret(loc) and isinstance(value, str | int | float | bool):
                problem["message"] = f"{message} (got {repr(value)[:80]})"
        problems.append(problem)
    if not problems:
        problems.append({"message": "invalid settings"})

    first = problems[0]

    def prefix(problem: dict[str, Any]) -> str:
        """The first problem's variable (or file) is the error's place; others name theirs."""
        if "file" in problem:
            return (
                problem["key"] + ": "
                if problem is first
                else f"{problem['file']}: {problem['key']}: "
            )
        if problem is first:
            return ""
        name = problem.get("variable") or problem.get("setting")
        return f"{name}: " if name else ""

    text = "; ".join(prefix(p) + p["message"] for p in problems)
    place = first.get("file") or first.get("variable") or first.get("setting")
    return ConfigError(text, file=place, details={"errors": problems})


def load_settings(**values: Any) -> Settings:
    """The settings (``values``, then ``DIPKG_`` variables, then dipkg.toml); a value that
    cannot work raises a :class:`ConfigError` naming where it came from (:func:`config_error`),
    as does a variable that cannot be read (a list or table is JSON) or a dipkg.toml that is
    not TOML; never pydantic's report, never a value of a secret."""
    try:
        return Settings(**values)
    except PydanticValidationError as exc:
        raise config_error(exc) from None
    except SettingsError as exc:  # a list or table variable that is not JSON
        found = re.search(r'field "([^"]+)"', str(exc))
        loc = (found.group(1),) if found else ()
        where = _where(loc) if loc else {}
        place = where.get("variable") or where.get("setting")
        raise ConfigError(
            "cannot be read: a list or a table is written as JSON, e.g. "
            '["10.0.0.0/8"] or {"title": "..."}',
            file=place,
            details={"errors": [where]},
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not TOML: {exc}", file=str(_config_path())) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
