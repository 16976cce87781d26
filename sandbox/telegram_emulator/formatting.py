"""Telegram's text formatting: the HTML parse mode, auto-detected entities and lengths.

``format_text`` is what Telegram stores for a text or caption: it parses HTML (refusing what
Telegram refuses, with Telegram's "can't parse entities" reasons), trims, adds the entities
Telegram detects by itself and checks the length. Lengths are counted like Telegram counts
them: in UTF-16 code units, and entity offsets are UTF-16 offsets too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, NoReturn

from sandbox.telegram_emulator.common import JsonDict, bad_request

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


_TG_USER_LINK = re.compile(r"tg://user\?id=(\d+)")


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity's UTF-16 ``offset`` and ``length`` point at."""
    units = text.encode("utf-16-le", "surrogatepass")
    return units[offset * 2 : (offset + length) * 2].decode("utf-16-le", "surrogatepass")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


class HtmlParseError(ValueError):
    """The reason part of Telegram's "can't parse entities: ..." error."""


# Telegram's supported tags and the entity type each produces.
_TAG_ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_WITHOUT_SEMICOLON = re.compile(r"&#?[0-9a-zA-Z]+")


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str | None]
    start: int  # UTF-16 offset in the plain text where the tag's content begins
    source_index: int  # where the tag starts in the HTML source, for error offsets
    language: str | None = None  # set on <pre> by a nested <code class="language-x">


class _TelegramHtmlParser(HTMLParser):
    """Turns Telegram-flavoured HTML into plain text + entities, refusing what Telegram refuses.

    HTMLParser is forgiving: it silently drops or reinterprets broken markup. Telegram is not.
    So every callback also checks that it starts exactly where the previous one ended; a gap
    means HTMLParser swallowed something (a bare "&", "</>") and is reported as an error.
    """

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._source = source
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]
        self._cursor = 0
        self._parts: list[str] = []
        self._length = 0
        self._open: list[_OpenTag] = []
        self._entities: list[JsonDict] = []

    def parse(self) -> tuple[str, list[JsonDict]]:
        self.feed(self._source)
        self.close()
        if self._cursor < len(self._source):
            self._fail_gap(self._cursor)
        if self._open:
            name = self._open[-1].name
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        entities = sorted(self._entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self._parts), entities

    # --- HTMLParser callbacks ------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._token_start()
        self._consume(start, start + len(self.get_starttag_text() or ""))
        if tag not in _TAG_ENTITY_TYPES:
            self._fail(f'Unsupported start tag "{tag}"', start)
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            self._fail('Tag "span" must have class "tg-spoiler"', start)
        if tag == "tg-emoji" and not attributes.get("emoji-id"):
            self._fail('Tag "tg-emoji" must have attribute "emoji-id"', start)
        self._open.append(_OpenTag(tag, attributes, self._length, start))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._token_start()
        self._consume(start, start)
        self._fail(f'Unsupported start tag "{tag}/"', start)

    def handle_endtag(self, tag: str) -> None:
        start = self._token_start()
        end = self._source.find(">", start) + 1 or len(self._source)
        self._consume(start, end)
        if not self._open:
            self._fail("Unexpected end tag", start)
        top = self._open[-1]
        if top.name != tag:
            self._fail("Unmatched end tag", start, f', expected "</{top.name}>", found "</{tag}>"')
        self._open.pop()
        self._close_entity(top)

    def handle_data(self, data: str) -> None:
        start = self._token_start()
        self._consume(start, start + len(data))
        for index, char in enumerate(data):
            if char in "<&":
                self._fail_stray(start + index)
        self._emit(data)

    def handle_entityref(self, name: str) -> None:
        start = self._token_start()
        end = start + 1 + len(name)
        has_semicolon = self._source.startswith(";", end)
        self._consume(start, end + has_semicolon)
        if not has_semicolon:
            self._fail(f'Character entity "&{name}" must end with ";"', start)
        if name not in _NAMED_HTML_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"', start)
        self._emit(_NAMED_HTML_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        start = self._token_start()
        end = start + 2 + len(name)
        has_semicolon = self._source.startswith(";", end)
        self._consume(start, end + has_semicolon)
        if not has_semicolon:
            self._fail(f'Character entity "&#{name}" must end with ";"', start)
        code = int(name[1:], 16) if name[0] in "xX" else int(name)
        if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            self._fail(f'Invalid character entity "&#{name};"', start)
        self._emit(chr(code))

    def handle_comment(self, data: str) -> None:
        self._refuse_markup('Unsupported start tag "!--"')

    def handle_decl(self, decl: str) -> None:
        self._refuse_markup(f'Unsupported start tag "!{decl.split(" ")[0]}"')

    def unknown_decl(self, data: str) -> None:
        self._refuse_markup('Unsupported start tag "!["')

    def handle_pi(self, data: str) -> None:
        self._refuse_markup('Unsupported start tag "?"')

    # --- helpers -------------------------------------------------------------------------

    def _token_start(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _consume(self, start: int, end: int) -> None:
        """Advance over one token, failing if HTMLParser skipped source text before it."""
        if start > self._cursor:
            self._fail_gap(self._cursor)
        self._cursor = max(self._cursor, end)

    def _refuse_markup(self, reason: str) -> NoReturn:
        start = self._token_start()
        self._consume(start, start)
        self._fail(reason, start)

    def _fail_gap(self, index: int) -> NoReturn:
        if self._source[index] in "<&":
            self._fail_stray(index)
        self._fail("Unexpected text", index)

    def _fail_stray(self, index: int) -> NoReturn:
        """A "<" or "&" that is not part of a tag or a valid entity."""
        rest = self._source[index:]
        if rest.startswith("&"):
            if match := _ENTITY_WITHOUT_SEMICOLON.match(rest):
                self._fail(f'Character entity "{match.group()}" must end with ";"', index)
            self._fail('Unescaped "&", use "&amp;"', index)
        if rest[1:2] == "/":
            self._fail("Unclosed end tag", index)
        if rest[1:2].isalpha():
            self._fail("Unclosed start tag", index)
        self._fail('Unescaped "<", use "&lt;"', index)

    def _fail(self, reason: str, index: int, tail: str = "") -> NoReturn:
        byte_offset = len(self._source[:index].encode("utf-8"))
        raise HtmlParseError(f"{reason} at byte offset {byte_offset}{tail}")

    def _emit(self, text: str) -> None:
        self._parts.append(text)
        self._length += utf16_len(text)

    def _close_entity(self, tag: _OpenTag) -> None:
        parent = self._open[-1] if self._open else None
        css_class = tag.attrs.get("class") or ""
        language = css_class.removeprefix("language-") if css_class.startswith("language-") else ""
        if tag.name == "code" and parent and parent.name == "pre" and language:
            # Telegram folds <pre><code class="language-x"> into one pre entity.
            parent.language = language
            return
        length = self._length - tag.start
        if length <= 0:
            return  # Telegram drops empty entities
        entity: JsonDict = {
            "type": _TAG_ENTITY_TYPES[tag.name],
            "offset": tag.start,
            "length": length,
        }
        if tag.name == "a":
            href = tag.attrs.get("href")
            if not href:
                return
            mentioned = _TG_USER_LINK.fullmatch(href)
            if mentioned:
                # Telegram turns a link to a user into a mention of that user.
                entity["type"] = "text_mention"
                entity["user"] = {"id": int(mentioned.group(1)), "is_bot": False, "first_name": ""}
            else:
                entity["url"] = href
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        self._entities.append(entity)


def parse_html(source: str) -> tuple[str, list[JsonDict]]:
    """Parse Telegram's HTML parse mode into (plain text, entities with UTF-16 offsets).

    Stricter than Telegram in one respect: a bare "&" or an unknown named entity is an error
    here, while Telegram would keep it as literal text; an unescaped "&" is almost always a
    forgotten ``html.escape`` in the bot, which is what tests should catch.
    Raises HtmlParseError with Telegram-style reasons ("... at byte offset N").
    """
    return _TelegramHtmlParser(source).parse()


_AUTO_ENTITY = re.compile(
    r"(?P<url>https?://[^\s<>\"]+)"
    r"|(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@]))"
    r"|(?P<mention>(?<![\w@/])@[A-Za-z0-9_]{4,32}(?![\w@]))"
    r"|(?P<hashtag>(?<![\w#])#(?=\w*[^\W\d_])\w+)"
)
# Telegram does not highlight links or commands inside these.
_NO_AUTO_ENTITIES_INSIDE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def detect_entities(text: str, existing: list[JsonDict] | None = None) -> list[JsonDict]:
    """Entities Telegram adds by itself: bot commands, @mentions, #hashtags and http(s) links."""
    blocked = [
        (e["offset"], e["offset"] + e["length"])
        for e in existing or []
        if e["type"] in _NO_AUTO_ENTITIES_INSIDE
    ]
    found: list[JsonDict] = []
    for match in _AUTO_ENTITY.finditer(text):
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "url":
            value = value.rstrip(".,;:!?)'")  # trailing punctuation ends a sentence, not a link
        offset = utf16_len(text[: match.start()])
        length = utf16_len(value)
        if any(offset < end and start < offset + length for start, end in blocked):
            continue
        found.append({"type": kind, "offset": offset, "length": length})
    return found


def _trim(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Strip leading/trailing whitespace like Telegram does, shifting and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    new_length = utf16_len(stripped)
    kept: list[JsonDict] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(new_length, entity["offset"] + entity["length"] - shift)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _checked_entities(raw: Any, text: str) -> list[JsonDict]:
    """Explicit ``entities``: Telegram drops ones that fall outside the text."""
    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    kept: list[JsonDict] = []
    for entity in raw:
        if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
            raise bad_request("can't parse entities JSON object")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request("can't parse entities JSON object")
        if offset >= 0 and length > 0 and offset + length <= total:
            kept.append(dict(entity))
    return kept


def format_text(
    raw: str,
    *,
    parse_mode: str | None,
    entities: Any = None,
    limit: int = TEXT_LIMIT,
    caption: bool = False,
) -> tuple[str, list[JsonDict]]:
    """What Telegram stores for a text or caption: plain text and its entities.

    Order matches Telegram: explicit ``entities`` win over ``parse_mode``; the result is trimmed;
    auto-detected entities are added; then the length is checked (after parsing, in UTF-16).
    """
    if entities is not None:
        text, found = raw, _checked_entities(entities, raw)
    elif parse_mode:
        if parse_mode.upper() != "HTML":
            raise bad_request("unsupported parse_mode (the emulator implements HTML only)")
        try:
            text, found = parse_html(raw)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        text, found = raw, []
    text, found = _trim(text, found)
    found = sorted(found + detect_entities(text, found), key=lambda e: (e["offset"], -e["length"]))
    size = utf16_len(text)
    if caption:
        if size > limit:
            raise bad_request("message caption is too long")
    elif size == 0:
        raise bad_request("message text is empty")
    elif size > limit:
        raise bad_request("message is too long")
    return text, found
