"""Model references: what the ``model`` setting may name.

=================================== =====================================================
``embedded``                        the verified embedded model (assembled on first use)
``ollama:NAME[:TAG]``               a model pulled with Ollama (``TAG`` defaults to ``latest``;
                                    ``NAME`` may be ``namespace/model`` or ``host/namespace/model``)
``lmstudio:PUBLISHER/MODEL[/FILE]`` a model downloaded by LM Studio (``FILE`` may be left out
                                    when the folder holds one model file)
``hf:ORG/NAME[/FILE]``              a file in the Hugging Face cache (``FILE`` may be left out
                                    when the repository's snapshot holds one model file)
anything else                       the path of a GGUF file (``~`` expanded)
=================================== =====================================================

A reference that does not resolve raises :class:`~lfcode.errors.BackendError`, whose message
names the closest matches among the models :func:`lfcode.models.stores.discover` finds.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

from lfcode.errors import BackendError
from lfcode.models.stores import (
    OLLAMA_HOST,
    OLLAMA_NAMESPACE,
    Found,
    discover,
    hf_roots,
    is_model_file,
    llama_cache_roots,
    lmstudio_roots,
    ollama_manifest_blob,
    ollama_roots,
    scan_hf_repo,
)

__all__ = ["SCHEMES", "close_matches", "resolve_model"]

#: The reference schemes, with what follows the colon.
SCHEMES = {"ollama": "NAME[:TAG]", "lmstudio": "PUBLISHER/MODEL[/FILE.gguf]", "hf": "ORG/NAME[/FILE.gguf]"}


def close_matches(reference: str, found: list[Found], n: int = 5) -> list[str]:
    """Up to ``n`` references of ``found`` (plus ``embedded``) closest to ``reference`` (difflib
    ratio ≥ 0.5, compared without case, both as whole references and as bare store names), best first."""
    candidates = {"embedded": "embedded"}
    for item in found:
        candidates.setdefault(item.reference.lower(), item.reference)
        candidates.setdefault(item.name.lower(), item.reference)
    wanted = reference.lower()
    bare = wanted.partition(":")[2] if wanted.partition(":")[0] in SCHEMES else wanted
    out: list[str] = []
    for query in dict.fromkeys((wanted, bare)):
        for key in difflib.get_close_matches(query, list(candidates), n=n, cutoff=0.5):
            if candidates[key] not in out:
                out.append(candidates[key])
    return out[:n]


def _miss(reference: str, message: str, env: Mapping[str, str] | None) -> BackendError:
    """The error for an unresolved reference: ``message`` and the closest matches."""
    matches = close_matches(reference, discover(env=env).files)
    hint = f"; closest matches: {', '.join(matches)}" if matches else "; `lfcode models` lists the models found on this machine"
    return BackendError(f"{message}{hint}")


def _one_model(reference: str, files: list[Path], where: str, env: Mapping[str, str] | None) -> Path:
    """The one model file of ``files``; an error naming them when there are several."""
    models = [p for p in files if is_model_file(p)]
    if len(models) == 1:
        return models[0]
    if not models:
        raise _miss(reference, f"model {reference!r} not found: {where} holds no GGUF model file", env)
    names = ", ".join(p.name for p in models)
    raise BackendError(f"model {reference!r} is ambiguous: {where} holds {len(models)} model files ({names}); add the file name")


def _ollama(reference: str, rest: str, env: Mapping[str, str] | None) -> Path:
    parts = rest.split("/")
    last, colon, tag = parts[-1].rpartition(":")
    if colon:
        parts[-1] = last
    else:
        tag = "latest"
    if len(parts) > 3 or not all(parts) or not tag or {".", ".."} & {*parts, tag}:
        raise BackendError(f"model {reference!r}: write an Ollama model as ollama:NAME[:TAG] (e.g. ollama:qwen2.5-coder:1.5b)")
    if len(parts) == 1:
        host, namespace, model = OLLAMA_HOST, OLLAMA_NAMESPACE, parts[0]
    elif len(parts) == 2:
        host, (namespace, model) = OLLAMA_HOST, parts
    else:
        host, namespace, model = parts
    roots = ollama_roots(env)
    for root in roots:
        manifest = root / "manifests" / host / namespace / model / tag
        try:
            if not manifest.is_file():
                continue
            return ollama_manifest_blob(root, manifest)
        except (OSError, ValueError) as exc:
            raise BackendError(f"model {reference!r}: {manifest}: {exc}") from exc
    where = ", ".join(map(str, roots))
    raise _miss(reference, f"model {reference!r} not found: no such model in the Ollama stores ({where})", env)


def _path_parts(reference: str, rest: str, usage: str) -> list[str]:
    """``rest`` (``A/B[/C...]``) split on ``/``; at least two non-empty parts and no ``..``, else
    a BackendError telling how to write the reference (``usage``)."""
    parts = rest.strip("/").split("/")
    if len(parts) < 2 or not all(parts) or ".." in parts:
        raise BackendError(f"model {reference!r}: write {usage}")
    return parts


def _lmstudio(reference: str, rest: str, env: Mapping[str, str] | None) -> Path:
    parts = _path_parts(reference, rest, "an LM Studio model as lmstudio:PUBLISHER/MODEL[/FILE.gguf]")
    roots = lmstudio_roots(env, [])
    for root in roots:
        target = root.joinpath(*parts)
        if len(parts) > 2 and target.is_file():
            return target
        if len(parts) == 2 and target.is_dir():
            return _one_model(reference, sorted(target.glob("*.gguf")), str(target), env)
    where = ", ".join(map(str, roots))
    raise _miss(reference, f"model {reference!r} not found: no such model in the LM Studio folders ({where})", env)


def _hf(reference: str, rest: str, env: Mapping[str, str] | None) -> Path:
    parts = _path_parts(reference, rest, "a Hugging Face file as hf:ORG/NAME[/FILE.gguf]")
    repo_id, file = "/".join(parts[:2]), "/".join(parts[2:])
    roots = hf_roots(env) + llama_cache_roots(env)
    for root in roots:
        repo = root / ("models--" + repo_id.replace("/", "--"))
        if not repo.is_dir():
            continue
        found = scan_hf_repo(repo, [])
        if not file:
            return _one_model(reference, [f.path for f in found], f"the cached snapshot of {repo_id}", env)
        for item in found:
            if item.name == f"{repo_id}/{file}":
                return item.path
    where = ", ".join(map(str, roots))
    raise _miss(reference, f"model {reference!r} not found: no such file in the Hugging Face cache ({where})", env)


def resolve_model(reference: str, env: Mapping[str, str] | None = None) -> Path:
    """The GGUF file a ``model`` setting names (module docstring for the forms).

    Args:
        reference: ``"embedded"``, ``"ollama:NAME[:TAG]"``, ``"lmstudio:PUBLISHER/MODEL[/FILE]"``,
            ``"hf:ORG/NAME[/FILE]"`` or a path.
        env: the environment the stores are found from (``os.environ`` when ``None``).

    Returns:
        The file's path: for ``embedded``, the verified embedded model (assembled on first use);
        for a path, the path with ``~`` expanded. Only the store lookups touch the disk; a path
        is checked for existence only, and its header is left to the backend.

    Raises:
        BackendError: the reference names nothing (the message lists the closest matches), is
            ambiguous, is malformed, names a broken Ollama manifest, or the embedded model
            cannot be assembled or verified.
    """
    reference = reference.strip()
    if reference == "embedded":
        from lfcode.backends.embedded import embedded_model_path

        return embedded_model_path(None if env is None else dict(env))
    scheme, colon, rest = reference.partition(":")
    if colon and scheme in SCHEMES:
        try:
            return {"ollama": _ollama, "lmstudio": _lmstudio, "hf": _hf}[scheme](reference, rest, env)
        except OSError as exc:
            raise BackendError(f"model {reference!r}: {exc}") from exc
    path = Path(reference).expanduser()
    if not os.path.lexists(path):
        raise _miss(reference, f"model file not found: {path}", env)
    return path

