"""Definition text (JSON or YAML) → the JSON object that is stored and run.

YAML is read with JSON's types only: an unquoted `2024-01-01T00:00:00Z` stays the string
ASL expects (PyYAML's safe loader would make it a datetime, which JSON cannot hold).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from yun.flows._errors import DefinitionError


class _JsonTypesLoader(yaml.SafeLoader):
    pass


# Drop the timestamp resolver: such scalars then resolve as plain strings.
_JsonTypesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_definition(text: str | bytes) -> dict[str, Any]:
    """The definition as a JSON object; DefinitionError naming the line if it is neither
    JSON nor YAML, or not an object."""
    try:
        data = json.loads(text)
    except ValueError as json_error:
        try:
            data = yaml.load(text, Loader=_JsonTypesLoader)  # a SafeLoader: no objects
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise DefinitionError(
                [f"the definition is neither JSON ({json_error}) nor YAML{where}: {exc}"]
            ) from exc
    if not isinstance(data, dict):
        raise DefinitionError(["the definition must be an object with StartAt and States"])
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise DefinitionError([f"the definition holds a value JSON cannot: {exc}"]) from exc
    return data
