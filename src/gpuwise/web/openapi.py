"""The OpenAPI description of `gpuwise serve`'s API, made from the commands' own parsers: each
field is a flag (or positional argument) of the command, with its type, choices and help."""

from __future__ import annotations

import argparse

from gpuwise._version import SCHEMA_VERSION, __version__
from gpuwise.web import api

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _help(action: argparse.Action) -> str:
    from gpuwise.cli.lang import HelpText
    from gpuwise.i18n import render

    text = action.help
    if isinstance(text, HelpText):
        return render(str(text), text.params, "en")
    return str(text or "")


def _schema(action: argparse.Action) -> dict[str, Any]:
    if action.nargs == 0:
        return {"type": "boolean"}
    if action.nargs == "?" and action.const is not None:  # alone (true) or with a value
        alone: dict[str, Any] = {"type": "string"}
        if action.choices is not None:
            alone["enum"] = ["true", "false", *action.choices]
        return alone
    kind = {int: "integer", float: "number"}.get(action.type, "string")  # type: ignore[call-overload]
    one: dict[str, Any] = {"type": kind}
    if action.choices is not None:
        one["enum"] = list(action.choices)
    if action.default not in (None, argparse.SUPPRESS) and not isinstance(action.default, list):
        one["default"] = action.default
    if isinstance(action, argparse._AppendAction):
        return {"type": "array", "items": one}
    return one


def _operation(command: str, method: str) -> dict[str, Any]:
    fields = api.fields_of(command)
    responses = {
        "200": {
            "description": f"the document `gpuwise {command} --json` prints",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "400": {
            "description": "bad input: the command line's one-line error",
            "content": {"application/json": {"schema": _ERROR}},
        },
        "413": {
            "description": "body too large",
            "content": {"application/json": {"schema": _ERROR}},
        },
    }
    op: dict[str, Any] = {
        "summary": f"gpuwise {command} --json",
        "operationId": f"{command}_{method}",
        "responses": responses,
    }
    lang = {
        "name": "lang",
        "in": "query",
        "description": "zh or en (default: Accept-Language, else en)",
        "schema": {"type": "string"},
    }
    if method == "get":
        op["parameters"] = [
            {
                "name": name,
                "in": "query",
                "description": _help(action),
                "schema": _schema(action),
                **({"explode": True} if isinstance(action, argparse._AppendAction) else {}),
            }
            for name, action in fields.items()
        ] + [lang]
    else:
        props = {
            name: {**_schema(action), "description": _help(action)}
            for name, action in fields.items()
        }
        props["lang"] = {"type": "string", "description": lang["description"]}
        if "model" in fields:
            props["config"] = {
                "type": "string",
                "description": "the text of a config.json, in place of model",
            }
            props["config_name"] = {"type": "string", "description": "its file name"}
        op["requestBody"] = {
            "content": {"application/json": {"schema": {"type": "object", "properties": props}}}
        }
        if "model" in fields:
            op["requestBody"]["content"]["application/octet-stream"] = {
                "schema": {
                    "type": "string",
                    "format": "binary",
                    "maxLength": api.GGUF_LIMIT,
                    "description": "in place of model: the first bytes of a .gguf file (its "
                    "header), with the query's gguf_name (its file name), gguf_size (the whole "
                    "file's size in bytes) and any other field; the answer's "
                    "x-gguf-header-bytes header says how many bytes the header takes, all a "
                    "later request about the same file need send",
                }
            }
    return op


def _emit_operation(command: str, method: str) -> dict[str, Any]:
    """The same fields; the answer is the launch files `--emit DIR` writes, as a zip."""
    op = _operation(command, method)
    op["summary"] = f"gpuwise {command} --emit DIR, the files zipped"
    op["operationId"] = f"{command}_emit_{method}"
    op["responses"]["200"] = {
        "description": f"the files `gpuwise {command} --emit DIR` writes, as a zip archive",
        "content": {"application/zip": {}},
    }
    return op


def description() -> dict[str, Any]:
    paths = {f"/api/{c}": {m: _operation(c, m) for m in ("get", "post")} for c in api.served()}
    for c in api.EMITS:
        if c in api.served():
            paths[f"/api/{c}/emit"] = {m: _emit_operation(c, m) for m in ("get", "post")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gpuwise",
            "version": __version__,
            "description": "The documents of gpuwise's commands with --json (schema_version "
            f"{SCHEMA_VERSION}); fields are the commands' flags without the dashes.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "schema_version": {"type": "integer"},
                        "gpuwise_version": {"type": "string"},
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                }
            }
        },
    }
