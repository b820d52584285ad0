"""Label Studio results ↔ datafair answers, for the six task types.

=================  ==========================  ==================================================
result ``type``    datafair task type          ``value``
=================  ==========================  ==================================================
choices            classification (one choice) ``{"choices": [name, ...]}``
                   or multilabel (a list)
labels             spans                       ``{"start", "end", "text", "labels": [name]}``
                                               (character offsets, ``end`` exclusive)
rectanglelabels    boxes                       ``{"x", "y", "width", "height", "rotation",
                                               "rectanglelabels": [name]}`` in percent of
                                               ``original_width``/``original_height``
textarea           transcription               ``{"text": [line, ...]}`` (joined by newlines)
pairwise           preference                  ``{"selected": "left" | "right"}`` (a | b)
=================  ==========================  ==================================================

Several results of one annotation with the same type (the spans or boxes of one item) form one
answer. Any other result type has no datafair equivalent and is reported by name
(:class:`UnsupportedResult`). Answers are returned in datafair's canonical form
(:mod:`datafair.core.schemas`), checked against the item's text or image size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datafair.core.errors import InvalidInput
from datafair.core.schemas import ItemContext, ItemKind, LabelSchema, TaskType

RESULT_TYPES: dict[str, TaskType | None] = {
    "choices": None,  # classification or multilabel, by the number of choices
    "labels": TaskType.SPANS,
    "rectanglelabels": TaskType.BOXES,
    "textarea": TaskType.TRANSCRIPTION,
    "pairwise": TaskType.PREFERENCE,
}
_SIDES = {"left": "a", "right": "b"}


class UnsupportedResult(InvalidInput):
    """A result type with no datafair equivalent (polygons, key points, ratings, ...)."""


def _names(value: dict[str, Any], key: str, where: str) -> list[str]:
    names = value.get(key)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InvalidInput(f"{where}.value.{key}", "must be a non-empty list of names")
    return names


def _check(task_type: TaskType, answer: Any, item: ItemContext, names: set[str], where: str) -> Any:
    classes = tuple(sorted(names)) if task_type is not TaskType.TRANSCRIPTION else ()
    if task_type is TaskType.CLASSIFICATION:
        return answer  # any name: the task's classes are chosen when the task is created
    if task_type is TaskType.PREFERENCE:
        classes = ()
    try:
        return LabelSchema(task_type, classes).validate(answer, item)
    except InvalidInput as error:
        raise InvalidInput(where, error.problem, error.fix) from None


def answers_from_results(
    results: Sequence[Any], item: ItemContext, text: str | None, where: str
) -> list[tuple[TaskType, Any]]:
    """``(task type, canonical answer)`` per result type of one annotation or prediction.

    ``text`` is the item's text (span offsets and quoted text are checked against it), ``item``
    its kind and image size. ``InvalidInput`` names ``where`` and the result; an unknown type
    raises :class:`UnsupportedResult`.
    """
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for position, result in enumerate(results):
        here = f"{where}.result[{position}]"
        if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
            raise InvalidInput(here, "must be an object with a value object")
        kind = result.get("type")
        if kind not in RESULT_TYPES:
            raise UnsupportedResult(
                here,
                f"result type {kind!r} has no datafair equivalent",
                f"keep only {', '.join(RESULT_TYPES)} results, or pass --skip-unsupported",
            )
        grouped.setdefault(str(kind), []).append((here, result["value"]))
    out: list[tuple[TaskType, Any]] = []
    for kind, entries in grouped.items():
        out.append(_answer(kind, entries, item, text))
    return out


def _answer(
    kind: str, entries: list[tuple[str, dict[str, Any]]], item: ItemContext, text: str | None
) -> tuple[TaskType, Any]:
    first_where = entries[0][0]
    if kind == "choices":
        chosen = [name for where, value in entries for name in _names(value, "choices", where)]
        if len(chosen) == 1:
            return TaskType.CLASSIFICATION, chosen[0]
        return TaskType.MULTILABEL, _check(
            TaskType.MULTILABEL, chosen, item, set(chosen), first_where
        )
    if kind == "labels":
        spans, names = [], set()
        for where, value in entries:
            (label,) = _names(value, "labels", where)[:1]
            start, end = value.get("start"), value.get("end")
            quoted = value.get("text")
            if (
                text is not None
                and isinstance(quoted, str)
                and isinstance(start, int)
                and isinstance(end, int)
                and text[start:end] != quoted
            ):
                raise InvalidInput(
                    where,
                    f"span {start}..{end} is {text[start:end]!r} in the text, not {quoted!r}",
                    "export the annotations again from the same texts",
                )
            spans.append({"start": start, "end": end, "label": label})
            names.add(label)
        return TaskType.SPANS, _check(TaskType.SPANS, spans, item, names, first_where)
    if kind == "rectanglelabels":
        boxes, names = [], set()
        width, height = item.width or 0, item.height or 0
        for where, value in entries:
            (label,) = _names(value, "rectanglelabels", where)[:1]
            if value.get("rotation", 0) not in (0, 0.0, None):
                raise InvalidInput(
                    where, "is a rotated rectangle", "datafair boxes are axis-aligned"
                )
            try:
                box = {
                    "x": float(value["x"]) * width / 100,
                    "y": float(value["y"]) * height / 100,
                    "w": float(value["width"]) * width / 100,
                    "h": float(value["height"]) * height / 100,
                    "label": label,
                }
            except (KeyError, TypeError, ValueError):
                raise InvalidInput(
                    where, "needs numeric x, y, width and height (percent)"
                ) from None
            boxes.append(_snap(box, width, height))
            names.add(label)
        return TaskType.BOXES, _check(TaskType.BOXES, boxes, item, names, first_where)
    if kind == "textarea":
        lines = [line for where, value in entries for line in _names(value, "text", where)]
        return TaskType.TRANSCRIPTION, _check(
            TaskType.TRANSCRIPTION, "\n".join(lines), item, set(), first_where
        )
    where, value = entries[-1]
    side = _SIDES.get(str(value.get("selected")))
    if side is None:
        raise InvalidInput(f"{where}.value.selected", "must be 'left' or 'right'")
    return TaskType.PREFERENCE, side


_PERCENT_SLACK = 1e-9  # percent → pixel arithmetic may overshoot an edge by a rounding error


def _snap(box: dict[str, Any], width: int, height: int) -> dict[str, Any]:
    """Pull an edge that lies outside the image by a rounding error back onto it."""
    for start, size, limit in (("x", "w", width), ("y", "h", height)):
        slack = _PERCENT_SLACK * max(limit, 1)
        if -slack < box[start] < 0:
            box[size] += box[start]
            box[start] = 0.0
        overshoot = box[start] + box[size] - limit
        if 0 < overshoot < slack:
            box[size] -= overshoot
    return box


def results_for(
    task_type: TaskType,
    label: Any,
    *,
    to_name: str,
    width: int | None = None,
    height: int | None = None,
    text: str | None = None,
) -> list[dict[str, Any]]:
    """The Label Studio results of one datafair answer (the inverse of
    :func:`answers_from_results`); boxes in percent of ``width`` × ``height``."""

    def result(kind: str, value: dict[str, Any], position: int = 0) -> dict[str, Any]:
        return {
            "id": f"r{position}",
            "from_name": "label" if kind != "textarea" else "transcription",
            "to_name": to_name,
            "type": kind,
            "origin": "manual",
            "value": value,
        }

    if task_type is TaskType.CLASSIFICATION:
        return [result("choices", {"choices": [label]})]
    if task_type is TaskType.MULTILABEL:
        return [result("choices", {"choices": list(label)})]
    if task_type is TaskType.SPANS:
        return [
            result(
                "labels",
                {
                    "start": span["start"],
                    "end": span["end"],
                    "text": (text or "")[span["start"] : span["end"]],
                    "labels": [span["label"]],
                },
                position,
            )
            for position, span in enumerate(label)
        ]
    if task_type is TaskType.BOXES:
        assert width and height
        out = []
        for position, box in enumerate(label):
            entry = result(
                "rectanglelabels",
                {
                    "x": float(box["x"]) * 100 / width,
                    "y": float(box["y"]) * 100 / height,
                    "width": float(box["w"]) * 100 / width,
                    "height": float(box["h"]) * 100 / height,
                    "rotation": 0,
                    "rectanglelabels": [box["label"]],
                },
                position,
            )
            entry |= {"original_width": width, "original_height": height, "image_rotation": 0}
            out.append(entry)
        return out
    if task_type is TaskType.TRANSCRIPTION:
        return [result("textarea", {"text": [label]})]
    selected = {"a": "left", "b": "right"}[label]
    return [result("pairwise", {"selected": selected})]


def labelling_config(task_type: TaskType, classes: Sequence[str], kind: ItemKind) -> str:
    """A Label Studio labelling config (XML) that shows the exported tasks and their results."""
    choices = "".join(f'<Choice value="{_xml(name)}"/>' for name in classes)
    labels = "".join(f'<Label value="{_xml(name)}"/>' for name in classes)
    shown = (
        '<Image name="image" value="$image"/>'
        if kind is ItemKind.IMAGE
        else ('<Text name="text" value="$text"/>')
    )
    body = {
        TaskType.CLASSIFICATION: f'{shown}<Choices name="label" toName="{kind}" '
        f'choice="single">{choices}</Choices>',
        TaskType.MULTILABEL: f'{shown}<Choices name="label" toName="{kind}" '
        f'choice="multiple">{choices}</Choices>',
        TaskType.SPANS: f'{shown}<Labels name="label" toName="text">{labels}</Labels>',
        TaskType.BOXES: f'{shown}<RectangleLabels name="label" toName="image">'
        f"{labels}</RectangleLabels>",
        TaskType.TRANSCRIPTION: f'{shown}<TextArea name="transcription" toName="{kind}"/>',
        TaskType.PREFERENCE: '<Text name="prompt" value="$prompt"/>'
        '<Text name="response_a" value="$response_a"/>'
        '<Text name="response_b" value="$response_b"/>'
        '<Pairwise name="label" toName="response_a,response_b"/>',
    }[task_type]
    return f"<View>{body}</View>\n"


def _xml(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
