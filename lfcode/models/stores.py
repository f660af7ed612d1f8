"""Where GGUF files already sit on this machine: the stores of Ollama, LM Studio, the Hugging
Face cache and llama.cpp, lfcode's own embedded model, and folders the user names.

Nothing here starts or asks a daemon: the stores are read as files. Every location is optional
(a missing folder is not a problem); an unreadable folder or a broken Ollama manifest is
skipped and reported as a :class:`Problem`. The home folder is :func:`pathlib.Path.home`
(``$HOME``), so a test can point everything at a temporary folder.

Names and references, per store:

- Ollama: ``manifests/<host>/<namespace>/<model>/<tag>`` holds a JSON manifest whose layer of
  media type :data:`OLLAMA_MODEL_LAYER` names the blob ``blobs/sha256-<hex>``. The name is
  Ollama's own: ``model:tag`` for ``registry.ollama.ai/library``, ``namespace/model:tag`` for
  another namespace there, ``host/namespace/model:tag`` for another host; reference
  ``ollama:<name>``.
- LM Studio: ``<models>/<publisher>/<model>/<file>.gguf``; name ``publisher/model/file.gguf``,
  reference ``lmstudio:<name>``.
- Hugging Face cache: ``models--ORG--NAME/snapshots/<rev>/<path>.gguf``, ``<rev>`` read from
  ``refs/main`` (every snapshot, newest first, when it is missing); name ``ORG/NAME/<path>``,
  reference ``hf:<name>``.
- llama.cpp's cache and user folders: the file's path relative to the folder; the reference is
  the absolute path.

A split model (``name-00001-of-00003.gguf``) is listed once, as its first part, with the size of
all its parts.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

__all__ = [
    "Found", "Problem", "Scan", "Source", "OLLAMA_MODEL_LAYER", "OLLAMA_SYSTEM_STORE",
    "discover", "hf_roots", "llama_cache_roots", "lmstudio_roots", "ollama_manifest_blob", "ollama_name",
    "ollama_roots", "scan_hf_repo", "scan_folder", "scan_lmstudio", "scan_ollama", "is_model_file",
]

Source = Literal["embedded", "ollama", "lmstudio", "huggingface", "llama.cpp", "path"]

#: The media type of the layer holding the GGUF in an Ollama manifest.
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
#: The store of Ollama's system service on Linux (read besides the user's own).
OLLAMA_SYSTEM_STORE = Path("/usr/share/ollama/.ollama/models")
OLLAMA_HOST, OLLAMA_NAMESPACE = "registry.ollama.ai", "library"
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


class Found(BaseModel):
    """One GGUF file found in a store.

    Attributes:
        source: the store.
        name: the name in that store (module docstring).
        reference: what to write in the ``model`` setting to use it.
        path: the file (for a split model, its first part).
        size_bytes: the file's size (all parts of a split model), bytes.
    """

    source: Source
    name: str
    reference: str
    path: Path
    size_bytes: int | None = None


class Problem(BaseModel):
    """A location or file skipped: ``location`` (a path) and ``reason`` (for the user)."""

    location: str
    reason: str


class Scan(BaseModel):
    """What :func:`discover` found: ``files`` in store order, ``problems`` met on the way, and the
    folders ``searched`` (whether or not they exist)."""

    files: list[Found] = []
    problems: list[Problem] = []
    searched: list[str] = []


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def ollama_roots(env: Mapping[str, str] | None = None) -> list[Path]:
    """Ollama stores: ``$OLLAMA_MODELS`` (else ``~/.ollama/models``), then :data:`OLLAMA_SYSTEM_STORE`."""
    env = _env(env)
    own = Path(env["OLLAMA_MODELS"]).expanduser() if env.get("OLLAMA_MODELS") else Path.home() / ".ollama" / "models"
    return [own, OLLAMA_SYSTEM_STORE]


def lmstudio_roots(env: Mapping[str, str] | None = None, problems: list[Problem] | None = None) -> list[Path]:
    """LM Studio model folders: ``<home>/models``, where ``<home>`` is the folder named in
    ``~/.lmstudio-home-pointer`` (else ``~/.lmstudio``), then the older ``~/.cache/lm-studio/models``.
    An unreadable pointer is added to ``problems`` and ``~/.lmstudio`` is used."""
    home = Path.home() / ".lmstudio"
    pointer = Path.home() / ".lmstudio-home-pointer"
    if _is_file(pointer):
        try:
            named = pointer.read_text(encoding="utf-8").strip()
            if named:
                home = Path(named).expanduser()
        except (OSError, UnicodeDecodeError) as exc:
            if problems is not None:
                problems.append(Problem(location=str(pointer), reason=f"cannot read the LM Studio home pointer: {exc}"))
    return [home / "models", Path.home() / ".cache" / "lm-studio" / "models"]


def _cache_home(env: Mapping[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"


def hf_roots(env: Mapping[str, str] | None = None) -> list[Path]:
    """The Hugging Face hub cache: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
    ``$XDG_CACHE_HOME/huggingface/hub`` (``~/.cache/huggingface/hub``), as ``huggingface_hub`` does."""
    env = _env(env)
    if env.get("HF_HUB_CACHE"):
        return [Path(env["HF_HUB_CACHE"]).expanduser()]
    if env.get("HF_HOME"):
        return [Path(env["HF_HOME"]).expanduser() / "hub"]
    return [_cache_home(env) / "huggingface" / "hub"]


def llama_cache_roots(env: Mapping[str, str] | None = None) -> list[Path]:
    """llama.cpp's download cache: ``$LLAMA_CACHE``, else ``$XDG_CACHE_HOME/llama.cpp`` (``~/.cache/llama.cpp``)."""
    env = _env(env)
    return [Path(env["LLAMA_CACHE"]).expanduser() if env.get("LLAMA_CACHE") else _cache_home(env) / "llama.cpp"]


def _listdir(folder: Path, problems: list[Problem]) -> list[Path]:
    """The entries of ``folder`` sorted by name; ``[]`` (and a problem unless it is missing) on error."""
    try:
        return sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        problems.append(Problem(location=str(folder), reason=f"cannot read the folder: {exc.strerror or exc}"))
        return []


def _is_dir(path: Path) -> bool:
    """``path.is_dir()``, False when it cannot be checked (no permission)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False when it cannot be checked (no permission)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def is_model_file(path: Path) -> bool:
    """A ``.gguf`` file that is a model's only or first part, not a vision projector (``mmproj*``)."""
    match = _SPLIT.search(path.name)
    return path.name.lower().endswith(".gguf") and not path.name.lower().startswith("mmproj") and (
        match is None or int(match.group(1)) == 1)


def _with_parts(found: Found) -> Found | None:
    """``None`` for a later part of a split model; its first part with the size of all parts."""
    match = _SPLIT.search(found.path.name)
    if match is None:
        return found
    if int(match.group(1)) != 1:
        return None
    stem, total = found.path.name[: match.start()], int(match.group(2))
    sizes = [_size(found.path.with_name(f"{stem}-{i:05d}-of-{total:05d}.gguf")) for i in range(1, total + 1)]
    return found.model_copy(update={"size_bytes": sum(s or 0 for s in sizes)})


def ollama_name(host: str, namespace: str, model: str, tag: str) -> str:
    """Ollama's display name of a manifest path's parts (module docstring)."""
    if host == OLLAMA_HOST:
        return f"{model}:{tag}" if namespace == OLLAMA_NAMESPACE else f"{namespace}/{model}:{tag}"
    return f"{host}/{namespace}/{model}:{tag}"


def ollama_manifest_blob(root: Path, manifest: Path) -> Path:
    """The model blob an Ollama ``manifest`` names, inside the store ``root``.

    Raises:
        ValueError: the manifest is not JSON, has no layer of type :data:`OLLAMA_MODEL_LAYER`,
            its digest is not ``sha256:<hex>``, or the blob is missing; the message says which.
        OSError: the manifest cannot be read.
    """
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"broken manifest (not JSON: {exc})") from exc
    layers = data.get("layers") if isinstance(data, dict) else None
    layer = next((x for x in layers or [] if isinstance(x, dict) and x.get("mediaType") == OLLAMA_MODEL_LAYER), None)
    if layer is None:
        raise ValueError(f"broken manifest (no layer of type {OLLAMA_MODEL_LAYER})")
    digest = str(layer.get("digest", ""))
    algo, _, hexdigest = digest.partition(":")
    if algo != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hexdigest):
        raise ValueError(f"broken manifest (model digest {digest!r} is not sha256:<hex>)")
    for name in (f"sha256-{hexdigest}", f"sha256:{hexdigest}"):  # older Ollama used the colon
        if _is_file(root / "blobs" / name):
            return root / "blobs" / name
    raise ValueError(f"the model blob blobs/sha256-{hexdigest} is missing")


def scan_ollama(root: Path, problems: list[Problem]) -> list[Found]:
    """Every model of the Ollama store ``root`` (``manifests/<host>/<namespace>/<model>/<tag>``)."""
    found = []
    for host in _listdir(root / "manifests", problems):
        for namespace in _listdir(host, problems) if _is_dir(host) else []:
            for model in _listdir(namespace, problems) if _is_dir(namespace) else []:
                for tag in _listdir(model, problems) if _is_dir(model) else []:
                    if not _is_file(tag):
                        continue
                    name = ollama_name(host.name, namespace.name, model.name, tag.name)
                    try:
                        blob = ollama_manifest_blob(root, tag)
                    except (OSError, ValueError) as exc:
                        problems.append(Problem(location=str(tag), reason=f"ollama {name}: {exc}"))
                        continue
                    found.append(Found(source="ollama", name=name, reference=f"ollama:{name}", path=blob, size_bytes=_size(blob)))
    return found


def scan_lmstudio(root: Path, problems: list[Problem]) -> list[Found]:
    """Every ``<publisher>/<model>/*.gguf`` of the LM Studio models folder ``root``."""
    found = []
    for publisher in _listdir(root, problems):
        for model in _listdir(publisher, problems) if _is_dir(publisher) else []:
            for file in _listdir(model, problems) if _is_dir(model) else []:
                if file.name.lower().endswith(".gguf") and _is_file(file):
                    name = f"{publisher.name}/{model.name}/{file.name}"
                    found.append(Found(source="lmstudio", name=name, reference=f"lmstudio:{name}", path=file, size_bytes=_size(file)))
    return found


def _snapshots(repo: Path, problems: list[Problem]) -> list[Path]:
    """The snapshot ``refs/main`` names, else every snapshot, newest first."""
    try:
        revision = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        revision = ""
    if revision and _is_dir(repo / "snapshots" / revision):
        return [repo / "snapshots" / revision]
    snapshots = [p for p in _listdir(repo / "snapshots", problems) if _is_dir(p)]
    return sorted(snapshots, key=lambda p: os.stat(p).st_mtime if _is_dir(p) else 0, reverse=True)


def scan_hf_repo(repo: Path, problems: list[Problem], source: Source = "huggingface") -> list[Found]:
    """The GGUF files of one Hugging Face cache entry ``models--ORG--NAME`` (module docstring).
    A file whose blob is missing (an interrupted download) is reported in ``problems``."""
    repo_id = "/".join(repo.name.split("--")[1:])
    found: dict[str, Found] = {}
    for snapshot in _snapshots(repo, problems):
        try:
            files = sorted(snapshot.rglob("*.gguf"))
        except OSError as exc:
            problems.append(Problem(location=str(snapshot), reason=f"cannot read the folder: {exc}"))
            continue
        for file in files:
            relative = file.relative_to(snapshot).as_posix()
            if relative in found:
                continue
            if not _is_file(file):
                problems.append(Problem(location=str(file), reason=f"hf {repo_id}/{relative}: the file's blob is missing (download not finished?)"))
                continue
            name = f"{repo_id}/{relative}"
            found[relative] = Found(source=source, name=name, reference=f"hf:{name}", path=file, size_bytes=_size(file))
    return list(found.values())


def scan_hf(root: Path, problems: list[Problem], source: Source = "huggingface") -> list[Found]:
    """Every ``models--*`` entry of the Hugging Face cache ``root``."""
    return [f for repo in _listdir(root, problems) if repo.name.startswith("models--") and _is_dir(repo)
            for f in scan_hf_repo(repo, problems, source)]


def scan_folder(root: Path, problems: list[Problem], source: Source = "path", recursive: bool = True) -> list[Found]:
    """The ``*.gguf`` files under ``root`` (only at its top with ``recursive=False``), named by
    their path relative to ``root``; the reference is the absolute path."""
    if not _is_dir(root):
        exists = os.path.lexists(root)
        if exists or source == "path":
            problems.append(Problem(location=str(root), reason="not a readable folder" if exists else "no such folder"))
        return []
    try:
        files = sorted(root.rglob("*.gguf") if recursive else root.glob("*.gguf"))
    except OSError as exc:
        problems.append(Problem(location=str(root), reason=f"cannot read the folder: {exc}"))
        return []
    found = []
    for file in files:
        if _is_file(file):
            path = file.absolute()
            found.append(Found(source=source, name=file.relative_to(root).as_posix(), reference=str(path), path=path, size_bytes=_size(file)))
    if source == "llama.cpp":  # newer llama.cpp keeps -hf downloads in the Hugging Face layout
        found += scan_hf(root, problems, source)
    return found


def _embedded(env: Mapping[str, str], problems: list[Problem]) -> list[Found]:
    """lfcode's embedded model, when it has been assembled already (never assembled here)."""
    from lfcode.backends.embedded import FILE_NAME, cache_dir

    path = cache_dir(dict(env)) / "models" / FILE_NAME
    return [Found(source="embedded", name="embedded", reference="embedded", path=path, size_bytes=_size(path))] if _is_file(path) else []


def discover(paths: Sequence[Path] = (), env: Mapping[str, str] | None = None) -> Scan:
    """Find the GGUF files of every store (module docstring), then under each of ``paths``.

    Args:
        paths: folders the user names, searched recursively.
        env: the environment (``OLLAMA_MODELS``, ``HF_HUB_CACHE``, ``HF_HOME``, ``LLAMA_CACHE``,
            ``XDG_CACHE_HOME``); ``os.environ`` when ``None``.

    Returns:
        A :class:`Scan`. A folder reached twice (``OLLAMA_MODELS`` naming the default store) is
        read once. Never raises for a missing or unreadable location.
    """
    env = _env(env)
    problems: list[Problem] = []
    plan: list[tuple[Path, Callable[[Path, list[Problem]], list[Found]]]] = []
    plan += [(root, scan_ollama) for root in ollama_roots(env)]
    plan += [(root, scan_lmstudio) for root in lmstudio_roots(env, problems)]
    plan += [(root, scan_hf) for root in hf_roots(env)]
    plan += [(root, lambda r, p: scan_folder(r, p, "llama.cpp", recursive=False)) for root in llama_cache_roots(env)]
    plan += [(Path(root).expanduser(), scan_folder) for root in paths]
    files = _embedded(env, problems)
    seen: set[Path] = set()
    searched = []
    for root, scan in plan:
        try:
            key = root.resolve()
        except OSError:
            key = root
        if key in seen:
            continue
        seen.add(key)
        searched.append(str(root))
        files += [f for f in map(_with_parts, scan(root, problems)) if f is not None]
    return Scan(files=files, problems=problems, searched=searched)
