"""Label Studio tasks exports: the JSON list Label Studio writes with "Export → JSON".

Each task is an object whose ``data`` object holds the item: ``text`` (a text item),
``prompt``/``response_a``/``response_b`` (a pair), or ``image`` (an image reference). Other
``data`` fields become meta; the task's own ``id`` is kept as ``meta["labelstudio_id"]`` and its
``meta`` object as ``meta["labelstudio_meta"]``.

Labels come along as prior labels (``ParsedDataset.prior``, see
:mod:`datafair.formats.labelstudio_results` for how each result type maps to a task type):
each annotation (not cancelled) is an ``annotation`` of the contributor named by
``PriorOptions.annotator`` or ``labelstudio:<completed_by>``, or ``gold`` when its
``ground_truth`` is true (unless ``PriorOptions.ground_truth`` is ``annotation``); each
prediction is a ``prediction`` of ``model:<model_version>``. A result type datafair has no
equivalent for refuses the file, naming it, or with ``skip_unsupported`` is listed in
``ParsedDataset.unsupported``. A span whose quoted text differs from the item text at its
offsets, or a box outside its image, refuses the file.

Image references are resolved against the folder of the JSON file and must stay inside it:

* a relative path (``images/cat.png``), a ``file://`` URL or an absolute path in the folder;
* ``/data/local-files/?d=images/cat.png`` (Label Studio local storage): the ``d`` path;
* ``/data/upload/3/cat.png`` (Label Studio uploads): ``upload/3/cat.png`` next to the JSON,
  which is where a copy of Label Studio's media folder puts it;
* ``data:image/png;base64,...``: the embedded bytes.

Web (``http``/``https``) and cloud-storage (``s3``, ``gs``, ``azure-blob``) URLs are refused
with a request to download the files first. Sources are ``tasks.json[i]``, the list index.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemContext, ItemKind
from datafair.formats.images import read_image
from datafair.formats.items import (
    ImageSink,
    ItemCollector,
    ParsedDataset,
    PriorLabel,
    PriorOptions,
)
from datafair.formats.labelstudio_results import RESULT_TYPES, answers_from_results
from datafair.formats.paths import inside
from datafair.formats.tabular import add_fields

_REMOTE_SCHEMES = ("http", "https", "s3", "gs", "gcs", "azure-blob")
_KEEP_LOCAL = "copy the images next to the JSON file and refer to them by relative path"


def parse_labelstudio(
    path: Path, image_sink: ImageSink | None = None, options: PriorOptions | None = None
) -> ParsedDataset:
    """Read a Label Studio tasks JSON export (see the module docs)."""
    options = options or PriorOptions()
    name = path.name
    try:
        tasks = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{name}:{exc.lineno}",
            f"is not valid JSON ({exc.msg} at column {exc.colno})",
            "export the tasks again from Label Studio as JSON",
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(name, "is not valid UTF-8", "save the file as UTF-8") from exc
    if not isinstance(tasks, list):
        raise InvalidInput(
            name,
            "is not a Label Studio tasks export (expected a JSON list of tasks)",
            "use Label Studio's Export → JSON",
        )
    collector = ItemCollector(path, "labelstudio", image_sink)
    for index, task in enumerate(tasks):
        source = f"{name}[{index}]"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            raise InvalidInput(
                source,
                "has no data object",
                'each task needs "data": {"text": ...} or {"image": ...}',
            )
        fields = dict(data)
        if "labelstudio_id" not in fields and task.get("id") is not None:
            fields["labelstudio_id"] = task["id"]
        if isinstance(task.get("meta"), dict) and task["meta"]:
            fields["labelstudio_meta"] = task["meta"]
        if "image" in fields:
            width, height = _add_image(collector, fields, path.parent, source)
            item = ItemContext(ItemKind.IMAGE, width=width, height=height)
            text = None
        elif "text" in fields or any(key in fields for key in ("prompt", "response_a")):
            add_fields(collector, fields, source)  # consumes the role fields
            text = data.get("text") if isinstance(data.get("text"), str) else None
            kind = ItemKind.TEXT if text is not None else ItemKind.PAIR
            item = ItemContext(kind, text_length=len(text) if text is not None else None)
        else:
            raise InvalidInput(
                source,
                f"has no text or image in data (fields: {', '.join(sorted(data)) or 'none'})",
                "name the data field 'text' or 'image' in the labelling config and export again",
            )
        _add_labels(collector, task, source, item, text, options)
    return collector.finish()


def _annotator(annotation: dict[str, Any], options: PriorOptions) -> str:
    if options.annotator:
        return options.annotator
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return f"labelstudio:{who}" if who not in (None, "") else "labelstudio"


def _add_labels(
    collector: ItemCollector,
    task: dict[str, Any],
    source: str,
    item: ItemContext,
    text: str | None,
    options: PriorOptions,
) -> None:
    for key, role_of in (("annotations", "annotation"), ("predictions", "prediction")):
        entries = task.get(key) or []
        if not isinstance(entries, list):
            raise InvalidInput(f"{source}.{key}", "must be a list")
        for position, entry in enumerate(entries):
            where = f"{source}.{key}[{position}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("result", []), list):
                raise InvalidInput(where, "must be an object with a result list")
            if entry.get("was_cancelled"):
                continue
            role, contributor = role_of, f"model:{entry.get('model_version') or 'unknown'}"
            if key == "annotations":
                contributor = _annotator(entry, options)
                if entry.get("ground_truth") and options.ground_truth == "gold":
                    role = "gold"
            results = entry.get("result") or []
            if options.skip_unsupported:
                kept = []
                for index, result in enumerate(results):
                    kind = result.get("type") if isinstance(result, dict) else None
                    if kind in RESULT_TYPES:
                        kept.append(result)
                    else:
                        collector.unsupported.append((f"{where}.result[{index}]", str(kind)))
                results = kept
            for task_type, answer in answers_from_results(results, item, text, where):
                collector.prior.append(
                    PriorLabel(source, role, contributor, str(task_type), answer, where)
                )


def _add_image(
    collector: ItemCollector, fields: dict[str, Any], base: Path, source: str
) -> tuple[int, int]:
    reference = fields.pop("image")
    if not isinstance(reference, str) or not reference.strip():
        raise InvalidInput(f"{source} image", "must be a path or URL string")
    content, file_name = load_image_reference(reference.strip(), base, f"{source} image")
    width, height, meta = read_image(content, source)
    external_id = fields.pop("id", None)
    if external_id is not None:
        fields["id"] = str(external_id)
    fields.update(meta)
    fields["file_name"] = file_name
    collector.add(ItemKind.IMAGE, content, None, width, height, fields, source)
    return width, height


def load_image_reference(reference: str, base: Path, field: str) -> tuple[bytes, str]:
    """The bytes and file name of an image reference (see the module docs for the forms)."""
    if reference.startswith("data:"):
        header, _, payload = reference.partition(",")
        if not header.endswith(";base64"):
            raise InvalidInput(field, "is a data URL without base64 content", _KEEP_LOCAL)
        try:
            return base64.b64decode(payload, validate=True), "embedded"
        except binascii.Error as exc:
            raise InvalidInput(field, "holds invalid base64", _KEEP_LOCAL) from exc
    parts = urlsplit(reference)
    scheme = parts.scheme.lower()
    if scheme in _REMOTE_SCHEMES:
        raise InvalidInput(
            field,
            f"is a remote URL ({reference}); images are not downloaded on import",
            "download the images first, place them next to the JSON file and refer to them "
            "by relative path",
        )
    if scheme == "file":
        relative = unquote(parts.path)
    elif parts.path.startswith("/data/local-files/"):
        relative = parse_qs(parts.query).get("d", [""])[0]
    elif parts.path.startswith("/data/upload/"):
        relative = unquote(parts.path[len("/data/") :])
    elif scheme and len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
        raise InvalidInput(field, f"has an unsupported URL scheme {scheme!r}", _KEEP_LOCAL)
    else:
        relative = reference
    root = base.resolve()
    target = inside(root, relative, field, _KEEP_LOCAL)
    if not target.is_file():
        raise InvalidInput(field, f"file {reference} not found (looked for {target})", _KEEP_LOCAL)
    return target.read_bytes(), target.relative_to(root).as_posix()
