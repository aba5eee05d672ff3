"""Validation of Telegram HTML, used through ``digester.html.check_telegram_html``."""

from __future__ import annotations

from digester._html_tokens import (
    ENTITY_RE,
    LANGUAGE_CLASS_RE,
    Attribute,
    Tag,
    Text,
    decode_entities,
    decode_entity,
    is_allowed_url,
    nesting_problem,
    tokenize,
)

_ATTRIBUTES = {
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "span": frozenset({"class"}),
    "code": frozenset({"class"}),
    "blockquote": frozenset({"expandable"}),
}
_REQUIRED_ATTRIBUTE = {"a": "href", "tg-emoji": "emoji-id", "span": "class"}


def check_html(html: str) -> list[str]:
    """Return every problem that makes Telegram reject ``html`` or silently drop formatting."""
    problems: list[str] = []
    stack: list[Tag] = []
    visible: list[str] = []
    for token in tokenize(html):
        if isinstance(token, Text):
            problems += _text_problems(token.raw, token.offset)
            visible.append(decode_entities(token.raw))
        elif token.closing:
            problems += _end_tag_problems(token, stack)
        else:
            problems += _start_tag_problems(token, stack)
            if token.kind is not None:
                stack.append(token)
    problems += [f"unclosed tag <{tag.name}> at offset {tag.offset}" for tag in stack]
    if not "".join(visible).strip():
        problems.append("empty message: no visible text")
    return problems


def _text_problems(raw: str, offset: int) -> list[str]:
    problems = []
    for index, char in enumerate(raw):
        where = f"at offset {offset + index}"
        if char == "<":
            problems.append(f"unescaped '<' or malformed tag {where}: {raw[index : index + 20]!r}")
        elif char == "&":
            problems += _ampersand_problems(raw, index, where)
        elif 0xD800 <= ord(char) <= 0xDFFF:
            problems.append(f"invalid character: lone surrogate U+{ord(char):04X} {where}")
    return problems


def _ampersand_problems(raw: str, index: int, where: str) -> list[str]:
    match = ENTITY_RE.match(raw, index)
    if match is None:
        return [f"unescaped '&' {where}: write &amp;"]
    if decode_entity(match) is not None:
        return []
    if match.group(3) is not None:
        return [f"unsupported entity {match.group(0)} {where}: use &lt; &gt; &amp; &quot; or &#N;"]
    return [f"invalid numeric entity {match.group(0)} {where}"]


def _end_tag_problems(tag: Tag, stack: list[Tag]) -> list[str]:
    where = f"</{tag.name}> at offset {tag.offset}"
    if tag.kind is None:
        return [f"unsupported tag {where}"]
    problems = [f"end tag {where} has attributes"] if tag.attributes else []
    open_names = [open_tag.name for open_tag in stack]
    if not stack:
        problems.append(f"unexpected end tag {where}: no tag is open")
    elif open_names[-1] == tag.name:
        stack.pop()
    elif tag.name in open_names:
        inner = stack[-1]
        problems.append(
            f"misnested tags: {where} closes <{tag.name}> while <{inner.name}> "
            f"from offset {inner.offset} is still open"
        )
        del stack[len(open_names) - 1 - open_names[::-1].index(tag.name) :]
    else:
        problems.append(f"unexpected end tag {where}: <{stack[-1].name}> is open")
    return problems


def _start_tag_problems(tag: Tag, stack: list[Tag]) -> list[str]:
    if tag.kind is None:
        return [f"unsupported tag <{tag.name}> at offset {tag.offset}"]
    ancestors = [open_tag.kind for open_tag in stack if open_tag.kind is not None]
    problems = _attribute_problems(tag, ancestors[-1] if ancestors else None)
    nesting = nesting_problem(tag.kind, ancestors)
    if nesting is not None:
        problems.append(f"{nesting} at offset {tag.offset}")
    return problems


def _attribute_problems(tag: Tag, parent: str | None) -> list[str]:
    where = f"on <{tag.name}> at offset {tag.offset}"
    allowed = _ATTRIBUTES.get(tag.name, frozenset())
    problems = []
    names = [attribute.name for attribute in tag.attributes]
    for attribute in tag.attributes:
        if attribute.name not in allowed:
            problems.append(f"unsupported attribute {attribute.name!r} {where}")
        elif names.count(attribute.name) > 1:
            problems.append(f"duplicate attribute {attribute.name!r} {where}")
        elif attribute.value is not None and not attribute.quoted:
            problems.append(f"unquoted value of attribute {attribute.name!r} {where}")
        else:
            problems += _value_problems(tag.name, attribute, parent, where)
    required = _REQUIRED_ATTRIBUTE.get(tag.name)
    if required is not None and required not in names:
        problems.append(f"missing attribute {required!r} {where}")
    return problems


def _value_problems(
    tag_name: str, attribute: Attribute, parent: str | None, where: str
) -> list[str]:
    raw = attribute.value
    if tag_name == "blockquote":
        return [] if raw is None else [f"attribute 'expandable' takes no value {where}"]
    if raw is None:
        return [f"attribute {attribute.name!r} has no value {where}"]
    problems = []
    for index in (index for index, char in enumerate(raw) if char == "&"):
        problems += _ampersand_problems(raw, index, f"in attribute {attribute.name!r} {where}")
    return problems + _meaning_problems(tag_name, decode_entities(raw), parent, where)


def _meaning_problems(tag_name: str, value: str, parent: str | None, where: str) -> list[str]:
    """Check the decoded value of the one attribute that each supported tag takes."""
    if tag_name == "a" and not is_allowed_url(value):
        return [f"invalid href {value!r} {where}: use an http, https, tg or mailto URL"]
    if tag_name == "tg-emoji" and not (value.isascii() and value.isdigit()):
        return [f"invalid emoji-id {value!r} {where}: expected digits"]
    if tag_name == "span" and value != "tg-spoiler":
        return [f'invalid class {value!r} {where}: only class="tg-spoiler" is supported']
    if tag_name == "code":
        return _language_problems(value, parent, where)
    return []


def _language_problems(value: str, parent: str | None, where: str) -> list[str]:
    if LANGUAGE_CLASS_RE.fullmatch(value) is None:
        return [f"invalid class {value!r} {where}: expected language-NAME"]
    if parent != "pre":
        return [f"class {value!r} {where} is only allowed on <code> directly inside <pre>"]
    return []
