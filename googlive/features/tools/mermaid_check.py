"""Pure-Python Mermaid validation: no Node, no network, no I/O.

`check_mermaid(code)` promises:
- a `MermaidCheck` with `ok=True` for the common valid syntax of flowchart/graph, sequenceDiagram,
  classDiagram, stateDiagram(-v2), erDiagram, gantt, pie, mindmap, journey and timeline (the
  other diagram types mermaid 11 knows are accepted after the generic checks only);
- `ok=False` with line-numbered errors (1-based, counted in the text as given) for an unknown
  diagram type, unbalanced brackets or quotes, bad arrows, unclosed or stray `end`/`}` blocks,
  and statements a diagram type does not know;
- `check_safety(code)` errors for content this app refuses whatever the parser says: Markdown
  fences (they would break out of the ```mermaid block), `%%{init}%%` directives and front-matter
  `config` (they could change mermaid's securityLevel), and interactive `click`/`link`/`href`/
  `callback` statements and `javascript:` URLs.

It is deliberately a little stricter than mermaid where mermaid's own behaviour is surprising
(for example an unquoted label holding brackets), and the cross-check test against mermaid.parse
keeps the two in agreement on a corpus.

Size: over 400 lines: one table-driven grammar of the Mermaid the app accepts; it judges only
where Node is absent, the real parser (tools/mermaid-validator) judges elsewhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_SOURCE_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class MermaidError:
    """One problem: `line` is 1-based (0 when the parser could not say)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True, slots=True)
class MermaidCheck:
    """The verdict on one source text, and which validator gave it."""

    ok: bool
    diagram_type: str | None = None
    errors: tuple[MermaidError, ...] = ()
    validator: str = "python"

    def as_tool_error(self) -> dict[str, object]:
        """A tool response body telling the model what to fix."""
        first = self.errors[0] if self.errors else MermaidError(0, "invalid Mermaid")
        return {
            "error": "The Mermaid code is invalid; fix it and call draw_diagram again.",
            "line": first.line,
            "message": first.message,
            "all_errors": [str(e) for e in self.errors[:5]],
            "validator": self.validator,
        }


# ---------------------------------------------------------------------------------------------
# Lines


@dataclass(slots=True)
class _Line:
    no: int  # 1-based
    text: str  # stripped
    indent: int


@dataclass(slots=True)
class _Ctx:
    errors: list[MermaidError] = field(default_factory=list)

    def err(self, line: int, message: str) -> None:
        self.errors.append(MermaidError(line, message))


_DIRECTIVE = re.compile(r"%%\s*\{")
_FENCE = re.compile(r"```|~~~~")
_JS_URL = re.compile(
    r"j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t\s*:|vbscript\s*:|data\s*:\s*text/html", re.I
)
# Statements that make nodes interactive, at the start of a line or after a ';'.
_INTERACTIVE = re.compile(r"(?:^|;)\s*(click|callback|links?)\b", re.I)
_HREF = re.compile(r"\bhref\b", re.I)
# Anything that makes the browser fetch a URL: CSS url()/image-set()/@import in style and
# classDef statements, flowchart image shapes (A@{ img: ... }), C4 sprites and links.
_FETCHES = re.compile(
    r"url\s*\(|image-set\s*\(|@import|expression\s*\(|\bimg\s*:|\$sprite|\$link", re.I
)
# What an HTML parser takes for a tag: '<' then a letter, '/', '!' or '?'. Mermaid's own
# <<annotation>> and a <br> line break are allowed; 'a < b' (with a space) is text.
_ALLOWED_ANGLES = re.compile(r"<<[^<>\n]{1,60}>>|<br\s*/?>", re.I)
_TAG = re.compile(r"<[A-Za-z!?/]")
_FRONT_LINE = re.compile(r"^\s*-{3,}\s*$")
_TITLE_LINE = re.compile(r"^title:[^\n]*$")
# Mermaid's own entity codes in labels (#lt; #60;), decoded to HTML entities before rendering.
_MERMAID_ENTITY = re.compile(r"#([a-zA-Z]+|\d+);")
_LINES = re.compile(r"\r\n|\r|\n")


_DECODE_ROUNDS = 8


def _decoded(code: str) -> str | None:
    """The text as the browser may end up reading it: HTML entities (mermaid.run entity-decodes
    the element's text) and mermaid's #name; codes, decoded until stable; None when still
    changing after `_DECODE_ROUNDS` rounds (refused as a whole)."""
    out = code
    for _ in range(_DECODE_ROUNDS):
        nxt = html.unescape(_MERMAID_ENTITY.sub(r"&\1;", out))
        if nxt == out:
            return out
        out = nxt
    return None


def _line_errors(no: int, raw: str) -> list[MermaidError]:
    errors: list[MermaidError] = []
    text = raw.strip()
    if _FENCE.search(raw):
        errors.append(
            MermaidError(
                no, "Markdown code fences (``` or ~~~~) are not allowed inside the diagram"
            )
        )
    if _DIRECTIVE.search(raw):
        errors.append(MermaidError(no, "%%{init}%% directives are not allowed; remove the line"))
    if _INTERACTIVE.search(text) or _HREF.search(text):
        errors.append(
            MermaidError(no, "interactive click/link/href statements are not allowed; remove them")
        )
    elif _JS_URL.search(raw):
        errors.append(MermaidError(no, "javascript: URLs are not allowed"))
    if _FETCHES.search(raw):
        errors.append(
            MermaidError(
                no, "images, url() and @import are not allowed: the diagram may not load anything"
            )
        )
    m = _TAG.search(_ALLOWED_ANGLES.sub(" ", raw))
    if m:
        tag = re.match(r"<[/!?]?[A-Za-z][\w-]{0,20}", raw[m.start() :])
        found = tag.group(0) if tag else raw[m.start() : m.start() + 2]
        errors.append(
            MermaidError(
                no,
                f"HTML tags are not allowed in diagram text (found '{found}'); write plain text "
                "(put spaces around '<' as in 'a < b'; a line break is <br>)",
            )
        )
    return errors


def check_safety(code: str) -> list[MermaidError]:
    """Errors for content this app never renders, whatever mermaid would make of it.

    Checked on the text as given and as the browser decodes it (entities, #lt; codes). Front
    matter is refused anywhere, except one block of `title:` lines opening the very first line
    (mermaid applies front matter found after a blank first line too, since mermaid.run trims
    the text); `%%{...}%%` directives anywhere; HTML tags; interactive statements and URLs that
    would be fetched.
    """
    errors: list[MermaidError] = []
    if len(code) > MAX_SOURCE_CHARS:
        errors.append(
            MermaidError(
                0, f"the diagram is too long ({len(code)} characters, limit {MAX_SOURCE_CHARS})"
            )
        )
        return errors
    lines = _LINES.split(code)
    decoded = _decoded(code)
    if decoded is None:
        return [
            MermaidError(0, "the diagram is encoded too many times over (entities inside entities)")
        ]
    decoded_lines = _LINES.split(decoded)
    in_front = False
    for no, raw in enumerate(lines, start=1):
        if no == 1 and raw == "---":
            in_front = True
            continue
        if in_front:
            if raw == "---":
                in_front = False
            elif not _TITLE_LINE.match(raw):
                errors.append(
                    MermaidError(
                        no,
                        "front matter may only hold a title (no 'config' or other keys); remove it",
                    )
                )
            errors += _line_errors(no, raw)
            continue
        if _FRONT_LINE.match(raw):
            errors.append(
                MermaidError(no, "a '---' front-matter line is not allowed here; remove it")
            )
        errors += _line_errors(no, raw)
    if in_front:
        errors.append(MermaidError(1, "front matter opened with '---' is never closed"))
    if decoded == code:
        return errors
    # Judge the decoded text too; an encoded line break shifts lines, then no line is named.
    same_shape = len(decoded_lines) == len(lines)
    seen = {(e.line, e.message) for e in errors}
    for i, dec in enumerate(decoded_lines):
        raw = lines[i] if same_shape else None
        if dec == raw:
            continue
        no = i + 1 if same_shape else 0
        found = _line_errors(no, dec)
        if (
            _FRONT_LINE.match(dec)
            and not (raw is not None and _FRONT_LINE.match(raw))
            and not (i == 0 and dec == "---")
        ):
            found.append(
                MermaidError(no, "a '---' front-matter line is not allowed here; remove it")
            )
        for e in found:
            if (e.line, e.message) not in seen:
                seen.add((e.line, e.message))
                errors.append(MermaidError(e.line, e.message + " (after decoding entities)"))
    return errors


def _split_lines(code: str, ctx: _Ctx) -> list[_Line]:
    """Lines without blank lines, %% comments and front matter; numbers as in the source."""
    raw = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[_Line] = []
    start = 0
    # Front matter is only recognised on the very first line, as mermaid does.
    if raw and raw[0].strip() == "---":
        for i in range(1, len(raw)):
            if raw[i].strip() == "---":
                start = i + 1
                break
        else:
            ctx.err(1, "front matter opened with '---' is never closed")
            return []
    for i in range(start, len(raw)):
        line = raw[i].rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("%%"):
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        out.append(_Line(i + 1, stripped, indent))
    return out


# ---------------------------------------------------------------------------------------------
# Shared helpers

_ACC = re.compile(r"^(accTitle|accDescr)\s*:")
_ACC_BLOCK = re.compile(r"^accDescr\s*\{")


def _skip_acc(lines: list[_Line], i: int, ctx: _Ctx) -> int | None:
    """If lines[i] is an accessibility statement, return the index after it; else None."""
    text = lines[i].text
    if _ACC.match(text):
        return i + 1
    if _ACC_BLOCK.match(text):
        if "}" in text[text.index("{") :]:
            return i + 1
        for j in range(i + 1, len(lines)):
            if "}" in lines[j].text:
                return j + 1
        ctx.err(lines[i].no, "accDescr { ... } block is never closed with '}'")
        return len(lines)
    return None


_Skip = Callable[[list[_Line], int, _Ctx], int | None]


def _statements(lines: list[_Line], ctx: _Ctx, *skips: _Skip) -> Iterator[_Line]:
    """Each line after the header, except accessibility statements and what `skips` pass over
    (each returns the index after a construct starting at lines[i], or None)."""
    i = 1
    while i < len(lines):
        nxt = _skip_acc(lines, i, ctx)
        for skip in skips:
            if nxt is not None:
                break
            nxt = skip(lines, i, ctx)
        if nxt is None:
            yield lines[i]
            nxt = i + 1
        i = nxt


def _quotes_balanced(text: str) -> bool:
    return text.count('"') % 2 == 0


# ---------------------------------------------------------------------------------------------
# Flowchart

_DIRECTIONS = {"TB", "TD", "BT", "RL", "LR"}
_ID = re.compile(r"[\w\u0080-\uffff]+(?:[-.][\w\u0080-\uffff]+)*")
_ARROW = re.compile(r"(?:[\w]+@)?(?:[xo<]?-{2,}[-xo>]|[xo<]?={2,}[=xo>]|[xo<]?-?\.+-[xo>]?|~{3,})")
_TEXT_EDGE_START = re.compile(r"[xo<]?(--|==|-\.)(?=\s)")
_TEXT_EDGE_END = {
    "--": re.compile(r"-{2,}[-xo>]"),
    "==": re.compile(r"={2,}[=xo>]"),
    "-.": re.compile(r"\.+-[xo>]?"),
}
# Longest first: the opener decides which closers are acceptable.
_SHAPES: list[tuple[str, tuple[str, ...]]] = [
    ("(((", (")))",)),
    ("((", ("))",)),
    ("([", ("])",)),
    ("[[", ("]]",)),
    ("[(", (")]",)),
    ("[/", ("/]", "\\]")),
    ("[\\", ("\\]", "/]")),
    ("{{", ("}}",)),
    ("(", (")",)),
    ("[", ("]",)),
    ("{", ("}",)),
    (">", ("]",)),
]
_FLOW_KEYWORDS = re.compile(r"^(classDef|class|style|linkStyle)\b")


class _FlowError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _split_statements(text: str) -> list[str]:
    """Split a line on ';' outside quotes and brackets."""
    parts: list[str] = []
    depth = 0
    quoted = False
    cur: list[str] = []
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}":
            depth = max(0, depth - 1)
        if ch == ";" and not quoted and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _ws(s: str, pos: int) -> int:
    while pos < len(s) and s[pos] in " \t":
        pos += 1
    return pos


def _parse_label(s: str, pos: int, closers: tuple[str, ...], opener: str) -> int:
    """Parse a shape's text starting at pos; return the index after the closer."""
    pos = _ws(s, pos)
    if pos < len(s) and s[pos] == '"':
        end = s.find('"', pos + 1)
        if end < 0:
            raise _FlowError(f"unclosed quote in the label opened with '{opener}'")
        pos = _ws(s, end + 1)
        for c in closers:
            if s.startswith(c, pos):
                return pos + len(c)
        raise _FlowError(
            f"the label opened with '{opener}' must be closed with '{closers[0]}' right after the quoted text"
        )
    start = pos
    while pos < len(s):
        for c in closers:
            if s.startswith(c, pos):
                if pos == start and opener not in ("(", "["):
                    pass
                return pos + len(c)
        ch = s[pos]
        if ch in "()[]{}":
            raise _FlowError(
                f"unexpected '{ch}' inside the label opened with '{opener}' (expected '{closers[0]}'); "
                'put text containing brackets in quotes, e.g. A["f(x)"]'
            )
        if ch == '"':
            raise _FlowError(
                f"a quote inside an unquoted label opened with '{opener}'; quote the whole label, e.g. A[\"text\"]"
            )
        pos += 1
    raise _FlowError(f"'{opener}' is never closed with '{closers[0]}'")


def _parse_node(s: str, pos: int) -> int:
    m = _ID.match(s, pos)
    if not m:
        found = s[pos : pos + 10]
        raise _FlowError(f"expected a node id, found '{found}'")
    pos = m.end()
    if s.startswith("@{", pos):
        depth = 0
        quoted = False
        for i in range(pos + 1, len(s)):
            ch = s[i]
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch == "{":
                depth += 1
            elif not quoted and ch == "}":
                depth -= 1
                if depth == 0:
                    pos = i + 1
                    break
        else:
            raise _FlowError("'@{' node metadata is never closed with '}'")
    else:
        for opener, closers in _SHAPES:
            if s.startswith(opener, pos):
                pos = _parse_label(s, pos + len(opener), closers, opener)
                break
    if s.startswith(":::", pos):
        m = re.compile(r"[\w-]+").match(s, pos + 3)
        if not m:
            raise _FlowError("':::' must be followed by a class name")
        pos = m.end()
    return pos


def _parse_node_group(s: str, pos: int) -> int:
    pos = _parse_node(s, _ws(s, pos))
    while True:
        p = _ws(s, pos)
        if p < len(s) and s[p] == "&":
            pos = _parse_node(s, _ws(s, p + 1))
        else:
            return pos


def _parse_edge(s: str, pos: int) -> int:
    m = _TEXT_EDGE_START.match(s, pos)
    if m:
        end_re = _TEXT_EDGE_END[m.group(1)]
        e = end_re.search(s, m.end())
        if not e:
            raise _FlowError(
                f"edge text started with '{m.group(0)}' is not closed by an arrow such as '-->'"
            )
        pos = e.end()
    else:
        m = _ARROW.match(s, pos)
        if not m:
            found = s[pos : pos + 12]
            raise _FlowError(
                f"expected an arrow such as -->, ---, -.->, ==> or the end of the line, found '{found}'"
            )
        pos = m.end()
    p = _ws(s, pos)
    if p < len(s) and s[p] == "|":
        q = _ws(s, p + 1)
        search_from = p + 1
        if q < len(s) and s[q] == '"':
            close_quote = s.find('"', q + 1)
            if close_quote < 0:
                raise _FlowError("unclosed quote in the edge label")
            search_from = close_quote + 1
        end = s.find("|", search_from)
        if end < 0:
            raise _FlowError("edge label opened with '|' is never closed with '|'")
        label = s[p + 1 : end]
        if not _quotes_balanced(label):
            raise _FlowError("unbalanced quote in the edge label")
        pos = end + 1
    return pos


def _parse_chain(s: str) -> None:
    pos = _parse_node_group(s, 0)
    while True:
        pos = _ws(s, pos)
        if pos >= len(s):
            return
        pos = _parse_edge(s, pos)
        pos = _ws(s, pos)
        if pos >= len(s):
            raise _FlowError("an arrow must be followed by a node")
        pos = _parse_node_group(s, pos)


def _check_flowchart(header_rest: str, lines: list[_Line], ctx: _Ctx) -> None:
    head = lines[0]
    parts = _split_statements(header_rest)
    if parts:
        first = parts[0].split(None, 1)
        direction = first[0]
        if direction in _DIRECTIONS or direction in ("<", ">", "^", "v"):
            rest = [first[1]] if len(first) > 1 else []
            parts = rest + parts[1:]
        elif len(parts) == 1 and " " not in parts[0] and ";" not in header_rest:
            ctx.err(head.no, f"unknown flowchart direction '{direction}'; use TD, TB, BT, LR or RL")
            parts = []
    stack: list[int] = []
    work = [(head.no, p) for p in parts] + [
        (ln.no, p) for ln in lines[1:] for p in _split_statements(ln.text)
    ]
    for no, stmt in work:
        if stmt == "end":
            if not stack:
                ctx.err(no, "'end' without a matching 'subgraph'")
            else:
                stack.pop()
            continue
        if stmt == "subgraph" or stmt.startswith(("subgraph ", "subgraph\t")):
            rest = stmt[8:].strip()
            if not rest:
                ctx.err(no, "'subgraph' needs an id or a title")
            elif not _quotes_balanced(rest):
                ctx.err(no, "unbalanced quote in the subgraph title")
            else:
                m = _ID.match(rest)
                if m and m.end() < len(rest) and rest[m.end()] == "[" and not rest.endswith("]"):
                    ctx.err(no, "subgraph title opened with '[' is never closed with ']'")
            stack.append(no)
            continue
        if stmt.startswith("direction "):
            d = stmt.split()[1] if len(stmt.split()) > 1 else ""
            if d not in _DIRECTIONS:
                ctx.err(no, f"unknown direction '{d}'")
            continue
        if _FLOW_KEYWORDS.match(stmt) or _ACC.match(stmt):
            continue
        if _INTERACTIVE.match(stmt):
            continue  # reported by check_safety
        try:
            _parse_chain(stmt)
        except _FlowError as e:
            ctx.err(no, e.message)
    for no in stack:
        ctx.err(no, "'subgraph' is never closed with 'end'")


# ---------------------------------------------------------------------------------------------
# Sequence diagram

_SEQ_ARROW = re.compile(
    r"^(?P<a>[^:]*?[^\s:+\-<>x)])\s*(?P<arrow><<-{1,2}>>|-{1,2}>>|-{1,2}>|-{1,2}x|-{1,2}\))\s*[+-]?\s*(?P<b>[^:]+?)\s*(?P<colon>:.*)?$"
)
_SEQ_PARTICIPANT = re.compile(r"^(?:create\s+)?(participant|actor)\s+\S")
_SEQ_NOTE = re.compile(r"^note\s+(left of|right of|over)\s+[^:]+:", re.I)
_SEQ_OPEN = {"loop", "alt", "opt", "par", "critical", "break", "rect", "box", "par_over"}
_SEQ_MIDDLE = {"else": "alt", "and": "par", "option": "critical"}
_SEQ_SIMPLE = re.compile(r"^(autonumber|activate|deactivate|destroy|title)\b")


def _check_sequence(lines: list[_Line], ctx: _Ctx) -> None:
    stack: list[tuple[str, int]] = []
    for ln in _statements(lines, ctx):
        text = ln.text
        word = text.split(None, 1)[0]
        if word == "end":
            if not stack:
                ctx.err(
                    ln.no, "'end' without an open loop/alt/opt/par/critical/break/rect/box block"
                )
            else:
                stack.pop()
        elif word in _SEQ_OPEN:
            stack.append((word, ln.no))
        elif word in _SEQ_MIDDLE:
            if not stack or stack[-1][0] != _SEQ_MIDDLE[word]:
                ctx.err(ln.no, f"'{word}' is only allowed inside a '{_SEQ_MIDDLE[word]}' block")
        elif _SEQ_PARTICIPANT.match(text) or _SEQ_SIMPLE.match(text) or text.startswith("title:"):
            pass
        elif word.lower() == "note":
            if not _SEQ_NOTE.match(text):
                ctx.err(
                    ln.no, "a note must look like 'Note right of A: text' or 'Note over A,B: text'"
                )
        elif _INTERACTIVE.match(text):
            pass  # reported by check_safety
        else:
            m = _SEQ_ARROW.match(text)
            if not m:
                ctx.err(ln.no, "unrecognised statement; a message looks like 'Alice->>Bob: text'")
            elif not m.group("colon"):
                ctx.err(ln.no, "a message needs text after a colon, e.g. 'Alice->>Bob: hello'")
    for word, no in stack:
        ctx.err(no, f"'{word}' block is never closed with 'end'")


# ---------------------------------------------------------------------------------------------
# Class diagram

_CLASS_REL = re.compile(
    r'^[\w.`~<>,\-\[\]]+(?:\s*"[^"]*")?\s*(?:<\||<|\*|o)?(?:--|\.\.)(?:\|>|>|\*|o)?\s*(?:"[^"]*"\s*)?[\w.`~<>,\-\[\]]+\s*(?::.*)?$'
)
_CLASS_DECL = re.compile(
    r'^class\s+[\w`~<>,.\-]+(?:\s*\["[^"]*"\])?(?::::[\w-]+)?\s*(\{)?\s*(\})?$'
)
_CLASS_MEMBER = re.compile(r"^[\w`~<>,.\-]+\s*:\s*\S")
_CLASS_MISC = re.compile(
    r"^(<<[^>]+>>\s*\S+|note\b|direction\s+(TB|BT|LR|RL)$|classDef\b|cssClass\b|style\b|class\s+\S+\s*:::)"
)


def _check_braced_blocks(
    lines: list[_Line],
    ctx: _Ctx,
    is_opener: Callable[[str], bool],
    check_line: Callable[[_Line], None],
    body_check: Callable[[_Line], None] | None = None,
    what: str = "block",
) -> None:
    """Walk lines tracking '{'-blocks; call check_line outside bodies and body_check inside."""
    stack: list[int] = []
    body_kinds: list[bool] = []  # True when the block holds members, not statements
    for ln in lines[1:]:
        text = ln.text
        if text == "}":
            if not stack:
                ctx.err(ln.no, "'}' without a matching '{'")
            else:
                stack.pop()
                body_kinds.pop()
            continue
        if body_kinds and body_kinds[-1]:
            if body_check is not None:
                body_check(ln)
            continue
        if text.endswith("{") and is_opener(text):
            check_line(_Line(ln.no, text[:-1].rstrip(), ln.indent))
            stack.append(ln.no)
            body_kinds.append(not text.startswith(("namespace", "state ")))
            continue
        check_line(ln)
    for no in stack:
        ctx.err(no, f"{what} opened with '{{' is never closed with '}}'")


def _check_class(lines: list[_Line], ctx: _Ctx) -> None:
    def check_line(ln: _Line) -> None:
        text = ln.text
        if _ACC.match(text) or _INTERACTIVE.match(text):
            return
        if text.startswith("namespace"):
            return
        if text.startswith("class "):
            if not _CLASS_DECL.match(text):
                ctx.err(
                    ln.no, "bad class declaration; expected 'class Name' or 'class Name { ... }'"
                )
            return
        if _CLASS_MISC.match(text) or _CLASS_MEMBER.match(text):
            if not _quotes_balanced(text):
                ctx.err(ln.no, "unbalanced quote")
            return
        if _CLASS_REL.match(text):
            if not _quotes_balanced(text):
                ctx.err(ln.no, "unbalanced quote")
            return
        if re.fullmatch(r"[\w`~<>,.\-]+", text):
            return
        ctx.err(
            ln.no,
            "unrecognised statement; a relation looks like 'A <|-- B' and a member like 'A : +run()'",
        )

    _check_braced_blocks(
        lines, ctx, lambda t: t.startswith(("class ", "namespace")), check_line, what="class body"
    )


# ---------------------------------------------------------------------------------------------
# State diagram

_STATE_ID = r"(?:\[\*\]|[\w\u0080-\uffff.\-]+)"
_STATE_TRANSITION = re.compile(
    rf"^{_STATE_ID}(?::::[\w-]+)?\s*-->\s*{_STATE_ID}(?::::[\w-]+)?\s*(?::.*)?$"
)
_STATE_DECL = re.compile(
    r'^state\s+(?:"[^"]*"\s+as\s+[\w.\-]+|[\w.\-]+(?:\s*<<(fork|join|choice)>>)?(?:\s*:.*)?|[\w.\-]+\s+as\s+"?[^"]*"?)\s*$'
)
_STATE_DESC = re.compile(r"^[\w\u0080-\uffff.\-]+\s*:\s*.*$")
_STATE_NOTE = re.compile(r"^note\s+(left|right)\s+of\s+[\w.\-]+(\s*:.*)?$", re.I)
_STATE_MISC = re.compile(
    r"^(direction\s+(TB|BT|LR|RL)$|classDef\b|class\b|style\b|--$|hide\b|scale\b)"
)


def _skip_state_note(lines: list[_Line], i: int, ctx: _Ctx) -> int | None:
    """If lines[i] opens a multi-line note, return the index after its 'end note'; else None."""
    text = lines[i].text
    if ":" in text or not _STATE_NOTE.match(text):
        return None
    for j in range(i + 1, len(lines)):
        if lines[j].text.lower() == "end note":
            return j + 1
    ctx.err(lines[i].no, "multi-line note is never closed with 'end note'")
    return len(lines)


def _check_state(lines: list[_Line], ctx: _Ctx) -> None:
    stack: list[int] = []
    for ln in _statements(lines, ctx, _skip_state_note):
        text = ln.text
        if text == "}":
            if not stack:
                ctx.err(ln.no, "'}' without a matching 'state X {'")
            else:
                stack.pop()
        elif text.startswith("state ") and text.endswith("{"):
            head = text[:-1].rstrip()
            if not _STATE_DECL.match(head):
                ctx.err(ln.no, "bad composite state; expected 'state Name {'")
            stack.append(ln.no)
        elif text.startswith("state "):
            if not _STATE_DECL.match(text):
                ctx.err(
                    ln.no,
                    "bad state declaration; expected 'state \"Description\" as Name' or 'state Name'",
                )
            elif not _quotes_balanced(text):
                ctx.err(ln.no, "unbalanced quote")
        elif _STATE_NOTE.match(text):
            pass  # a one-line note; multi-line ones are skipped by _skip_state_note
        elif "-->" in text:
            if not _STATE_TRANSITION.match(text):
                ctx.err(
                    ln.no,
                    "bad transition; expected 'A --> B' or 'A --> B : label' ([*] for start/end)",
                )
        elif "->" in text or "==>" in text or "-.->" in text:
            ctx.err(ln.no, "state transitions use '-->'")
        elif _STATE_MISC.match(text) or _STATE_DESC.match(text) or _INTERACTIVE.match(text):
            pass
        elif re.fullmatch(r"[\w\u0080-\uffff.\-]+(?::::[\w-]+)?", text):
            pass
        else:
            ctx.err(
                ln.no, "unrecognised statement; a transition looks like 'Idle --> Running : start'"
            )
    for no in stack:
        ctx.err(no, "composite state opened with '{' is never closed with '}'")


# ---------------------------------------------------------------------------------------------
# ER diagram

_ER_NAME = r'(?:[\w\u0080-\uffff\-]+|"[^"]*")'
_ER_CARD_L = r"(?:\|o|\|\||\}o|\}\||one or zero|zero or one|one or more|one or many|many\(\d+\)|\d+\+?|zero or more|zero or many|only one|1)"
_ER_CARD_R = r"(?:o\||\|\||o\{|\|\{|one or zero|zero or one|one or more|one or many|many\(\d+\)|\d+\+?|zero or more|zero or many|only one|1)"
_ER_REL = re.compile(
    rf"^{_ER_NAME}(?:\[[^\]]*\])?\s*{_ER_CARD_L}\s*(?:--|\.\.|to|optionally to)\s*{_ER_CARD_R}\s*{_ER_NAME}(?:\[[^\]]*\])?\s*:\s*\S.*$"
)
_ER_ENTITY = re.compile(rf'^{_ER_NAME}(?:\s*\["[^"]*"\])?(?::::[\w-]+)?$')
_ER_ATTR = re.compile(
    r'^[\w\-\[\](),]+\s+[\w\-*]+(?:\s+(?:PK|FK|UK)(?:\s*,\s*(?:PK|FK|UK))*)?(?:\s+"[^"]*")?$'
)
_ER_MISC = re.compile(r"^(direction\s+(TB|BT|LR|RL)$|classDef\b|class\b|style\b|title\b)")


def _check_er(lines: list[_Line], ctx: _Ctx) -> None:
    def check_line(ln: _Line) -> None:
        text = ln.text
        if _ACC.match(text) or _ER_MISC.match(text) or _ER_ENTITY.match(text):
            return
        if re.search(r"(--|\.\.)", text):
            if not _ER_REL.match(text):
                if re.search(r"(--|\.\.)\S*\s+\S+\s*$", text) and ":" not in text:
                    ctx.err(
                        ln.no,
                        "a relationship needs a label after a colon, e.g. 'CUSTOMER ||--o{ ORDER : places'",
                    )
                else:
                    ctx.err(
                        ln.no, "bad relationship; expected e.g. 'CUSTOMER ||--o{ ORDER : places'"
                    )
            return
        ctx.err(ln.no, "unrecognised statement; expected an entity, 'A { ... }' or a relationship")

    def body_check(ln: _Line) -> None:
        if not _ER_ATTR.match(ln.text):
            ctx.err(ln.no, "bad attribute; expected 'type name [PK|FK|UK] [\"comment\"]'")

    _check_braced_blocks(
        lines,
        ctx,
        lambda t: bool(re.match(rf"^{_ER_NAME}", t)),
        check_line,
        body_check,
        what="entity",
    )


# ---------------------------------------------------------------------------------------------
# Gantt, pie, journey, timeline, mindmap

_GANTT_KEYWORDS = re.compile(
    r"^(title|dateFormat|axisFormat|tickInterval|excludes|includes|todayMarker|weekday|weekend|section|inclusiveEndDates|topAxis|displayMode)\b"
)


def _check_gantt(lines: list[_Line], ctx: _Ctx) -> None:
    for i, ln in enumerate(lines[1:], start=1):
        if (
            _skip_acc(lines, i, ctx) is not None
            or _GANTT_KEYWORDS.match(ln.text)
            or _INTERACTIVE.match(ln.text)
        ):
            continue
        name, colon, data = ln.text.partition(":")
        if not colon or not name.strip():
            ctx.err(ln.no, "a task looks like 'Task name : id, 2024-01-01, 3d'")
        elif not data.strip():
            ctx.err(ln.no, "a task needs its dates or duration after the colon")


_PIE_ROW = re.compile(r'^"[^"]*"\s*:\s*-?\d+(?:\.\d+)?$|^\'[^\']*\'\s*:\s*-?\d+(?:\.\d+)?$')


def _check_pie(header_rest: str, lines: list[_Line], ctx: _Ctx) -> None:
    if header_rest and not re.match(r"^(showData\b\s*)?(title\b.*)?$", header_rest):
        ctx.err(lines[0].no, "after 'pie' only 'showData' and 'title ...' are allowed")
    for i, ln in enumerate(lines[1:], start=1):
        text = ln.text
        if _skip_acc(lines, i, ctx) is not None or text.startswith("title") or text == "showData":
            continue
        if not _PIE_ROW.match(text):
            ctx.err(ln.no, "a slice looks like '\"Label\" : 42' (quoted label, colon, number)")


def _check_journey(lines: list[_Line], ctx: _Ctx) -> None:
    for i, ln in enumerate(lines[1:], start=1):
        text = ln.text
        if _skip_acc(lines, i, ctx) is not None or re.match(r"^(title|section)\b", text):
            continue
        parts = text.split(":")
        if len(parts) < 2 or not parts[0].strip():
            ctx.err(ln.no, "a task looks like 'Make tea: 5: Me, Cat'")
        elif not re.fullmatch(r"\s*\d+\s*", parts[1]):
            ctx.err(ln.no, "a task's score (after the first colon) must be a whole number")


def _check_timeline(lines: list[_Line], ctx: _Ctx) -> None:
    for i, ln in enumerate(lines[1:], start=1):
        text = ln.text
        if _skip_acc(lines, i, ctx) is not None:
            continue
        if text.startswith(":") and i == 1:
            ctx.err(ln.no, "an event continuation ': ...' needs a period before it")


_MINDMAP_NODE = re.compile(
    r"^(?:[^\s()\[\]{}]*)?(?:\(\((?P<a>[^)]*)\)\)|\)\)(?P<b>[^(]*)\(\(|\)(?P<c>[^(]*)\(|\{\{(?P<d>[^}]*)\}\}|\((?P<e>[^)]*)\)|\[(?P<f>[^\]]*)\])?$"
)


def _check_mindmap(lines: list[_Line], ctx: _Ctx) -> None:
    body = lines[1:]
    if not body:
        ctx.err(lines[0].no, "a mindmap needs a root node")
        return
    root_indent = body[0].indent
    for ln in body:
        text = ln.text
        if text.startswith("::icon(") or text.startswith(":::"):
            continue
        if ln is not body[0] and ln.indent <= root_indent:
            ctx.err(ln.no, "a mindmap has only one root: indent this node under the root")
        core = re.sub(r'^(\w*)(["`].*["`])$', r"\1", text)
        if core != text:
            continue
        if re.search(r"[()\[\]{}]", text) and not _MINDMAP_NODE.match(text):
            ctx.err(
                ln.no,
                "unbalanced or mismatched brackets in the node shape; e.g. id[text], id(text), id((text)), id{{text}}",
            )


# ---------------------------------------------------------------------------------------------
# Entry point

_OTHER_TYPES = {
    "gitGraph",
    "quadrantChart",
    "requirementDiagram",
    "C4Context",
    "C4Container",
    "C4Component",
    "C4Dynamic",
    "C4Deployment",
    "xychart-beta",
    "xychart",
    "sankey-beta",
    "sankey",
    "block-beta",
    "block",
    "packet-beta",
    "packet",
    "architecture-beta",
    "kanban",
    "radar-beta",
    "treemap-beta",
    "info",
}
_CHECKED_TYPES = (
    "flowchart",
    "graph",
    "sequenceDiagram",
    "classDiagram",
    "stateDiagram",
    "erDiagram",
    "gantt",
    "pie",
    "mindmap",
    "journey",
    "timeline",
)


def known_diagram_types() -> tuple[str, ...]:
    """The diagram keywords this validator accepts (the first group is checked statement by statement)."""
    return (*_CHECKED_TYPES, "classDiagram-v2", "stateDiagram-v2", *sorted(_OTHER_TYPES))


def _generic_balance(lines: list[_Line], ctx: _Ctx) -> None:
    for ln in lines[1:]:
        if not _quotes_balanced(ln.text):
            ctx.err(ln.no, "unbalanced quote")
        depth = 0
        for ch in ln.text:
            depth += ch in "([{"
            depth -= ch in ")]}"
        if depth != 0:
            ctx.err(ln.no, "unbalanced brackets")


def check_mermaid(code: str) -> MermaidCheck:
    """Validate Mermaid source with the pure-Python rules; never raises for any str input."""
    ctx = _Ctx()
    safety = check_safety(code)
    if safety and safety[0].line == 0:
        return MermaidCheck(False, None, tuple(safety))
    lines = _split_lines(code, ctx)
    if ctx.errors:
        return MermaidCheck(False, None, tuple(safety + ctx.errors))
    if not lines:
        return MermaidCheck(False, None, (MermaidError(0, "the diagram is empty"),))
    head = lines[0]
    keyword, _, rest = head.text.partition(" ")
    keyword = keyword.rstrip(";")
    rest = rest.strip()
    if head.text.startswith(("graph;", "flowchart;")):
        keyword, _, rest = head.text.partition(";")
    dtype: str | None = keyword
    try:
        if keyword in ("graph", "flowchart", "flowchart-elk"):
            _check_flowchart(rest, lines, ctx)
        elif keyword == "sequenceDiagram":
            _check_sequence(lines, ctx)
        elif keyword in ("classDiagram", "classDiagram-v2"):
            _check_class(lines, ctx)
        elif keyword in ("stateDiagram", "stateDiagram-v2"):
            _check_state(lines, ctx)
        elif keyword == "erDiagram":
            _check_er(lines, ctx)
        elif keyword == "gantt":
            _check_gantt(lines, ctx)
        elif keyword == "pie":
            _check_pie(rest, lines, ctx)
        elif keyword == "mindmap":
            _check_mindmap(lines, ctx)
        elif keyword == "journey":
            _check_journey(lines, ctx)
        elif keyword == "timeline":
            _check_timeline(lines, ctx)
        elif keyword in _OTHER_TYPES:
            _generic_balance(lines, ctx)
        else:
            dtype = None
            shown = keyword[:40]
            ctx.err(
                head.no,
                f"unknown diagram type '{shown}'; start with one of: graph TD, flowchart LR, sequenceDiagram, "
                "classDiagram, stateDiagram-v2, erDiagram, gantt, pie, mindmap, journey, timeline",
            )
    except RecursionError:  # pragma: no cover - the checks are iterative; belt and braces
        ctx.err(0, "the diagram is too deeply nested")
    errors = sorted(safety + ctx.errors, key=lambda e: e.line)
    return MermaidCheck(not errors, dtype, tuple(errors))
