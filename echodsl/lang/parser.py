"""Text -> syntax tree, with every failure turned into a diagnostic.

The grammar lives only in ``grammar/mem.lark`` (shipped as ``echodsl.grammar``). No
lark exception escapes this module: bad input of any kind (binary garbage, huge files,
deep nesting, absurd numbers) becomes a ``Diagnostic``. Specs are data; nothing in them
is ever executed.

Building the LALR tables costs more than parsing every spec of a project, so the built
parser is cached on disk (lark's own cache, in the user's cache directory) and every
later start only loads it. lark keys the cache on the grammar text, the options, its
own version and Python's, so a changed grammar or upgrade rebuilds it; an unreadable,
corrupt or unwritable cache only means building the tables again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path


def _import_lark_without_regex() -> None:
    """Import lark with the third-party ``regex`` module hidden from it. lark imports
    ``regex`` whenever it is installed (diffusers brings it) and uses it only for grammars
    with Unicode categories or ``Lark(regex=True)``; mem.lark needs neither, and that one
    import is a tenth of ``echodsl validate``'s start-up. Hidden from lark's first import
    only: ``regex`` stays importable for everyone, and a lark imported earlier is kept."""
    if "lark" in sys.modules or "regex" in sys.modules:
        return
    sys.modules["regex"] = None  # type: ignore[assignment]  # makes `import regex` raise ImportError
    try:
        import lark  # noqa: F401
    finally:
        del sys.modules["regex"]


_import_lark_without_regex()
import lark  # noqa: E402
from lark import Lark, Token, Transformer, v_args  # noqa: E402

from echodsl.cache import cache_root
from echodsl.lang import ast
from echodsl.lang.diagnostics import Diagnostic, error
from echodsl.lang.source import SourceFile

GRAMMAR_VERSION = "1"
MAX_FILE_BYTES = 1 << 20  # 1 MiB: a memory design is a page, not a data set
MAX_NESTING = 32  # brackets deep; far beyond any real spec, far below Python's stack
INT_LIMIT = 2**63 - 1  # what a SQL BIGINT and a torch int64 can hold

CLAUSE_KEYWORDS_HINT = "storage, compression, readout, recurrence, action"
_TERMINAL_NAMES = {
    "NAME": "a name", "INT": "an integer", "FLOAT": "a number", "STRING": "a string",
    "SIZE": "a size such as 8x8", "TRUE": "`true`", "FALSE": "`false`", "LBRACE": "`{`",
    "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`", "COMMA": "`,`", "EQUAL": "`=`",
    "IMPORT": "`import`", "PROFILE": "`profile`", "STUDY": "`study`", "EXTENDS": "`extends`",
    "$END": "end of file",
}
_VALUE_START = {"INT", "FLOAT", "STRING", "SIZE", "TRUE", "FALSE"}


def grammar_text() -> str:
    """The grammar source, from the installed package or a source checkout. Found through
    the package's import spec (importing importlib.resources would cost every start-up
    more than reading the file); a zipped install falls back to importlib.resources."""
    spec = importlib.util.find_spec("echodsl.grammar")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mem.lark"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        from importlib import resources

        return resources.files("echodsl.grammar").joinpath("mem.lark").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return (Path(__file__).resolve().parents[2] / "grammar" / "mem.lark").read_text(encoding="utf-8")


def cache_dir() -> Path:
    """Where the built parser is kept: the cache root itself (``echodsl.cache.cache_root``)."""
    return cache_root()


def cache_path(grammar: str) -> Path:
    """The cache file for this grammar, lark and Python (several installs never fight over one)."""
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()[:16]
    python = "".join(map(str, sys.version_info[:2]))
    return cache_dir() / f"mem-{digest}-lark{lark.__version__}-py{python}.lark-cache"


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = grammar_text()
    options = dict(parser="lalr", propagate_positions=True, maybe_placeholders=False)
    path = cache_path(grammar)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: build the tables every time, as without a cache
        return Lark(grammar, **options)
    return Lark(grammar, cache=str(path), **options)


def decode(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    """Bytes of a spec file -> text, or a diagnostic saying why it is not spec text."""
    if len(data) > MAX_FILE_BYTES:
        empty = SourceFile(path, "")
        return None, [error("E005", f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}",
                            empty.span(0, 0), hint="a .mem file describes designs, not data")]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8")
        src = SourceFile(path, good + "?")
        return None, [error("E004", f"invalid UTF-8 byte 0x{data[exc.start]:02x}",
                            src.span(len(good), len(good) + 1),
                            hint="is this a binary file? .mem files are UTF-8 text")]


def parse(text: str, path: str = "<string>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """Parse one file's text. Returns ``(module, diagnostics)``; module is None on syntax errors."""
    src = SourceFile(path, text)
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_FILE_BYTES:
        return None, [error("E005", f"file is larger than {MAX_FILE_BYTES:,} bytes", src.span(0, 0),
                            hint="a .mem file describes designs, not data")]
    comments, deep = _scan(text)
    if deep is not None:
        return None, [error("E006", f"brackets nested more than {MAX_NESTING} deep",
                            src.span(deep, deep + 1), hint="flatten the nested calls or sweeps")]
    try:
        tree = _lark().parse(text)
    except lark.exceptions.UnexpectedInput as exc:
        return None, [_syntax_diagnostic(exc, src)]
    builder = _Builder(src)
    items = builder.transform(tree).items
    if builder.diagnostics:
        return None, builder.diagnostics
    return ast.Module(path, items, tuple(ast.Comment(text[a:b], src.span(a, b)) for a, b in comments)), []


def _scan(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """One pass over the raw text: comment ranges, and the offset of the first bracket
    nested past MAX_NESTING. Strings are skipped exactly as the lexer skips them, so a
    ``#`` inside a string is not a comment. (The grammar ignores comments; the formatter
    needs them back, and a lexer callback would need shared mutable state.)"""
    comments: list[tuple[int, int]] = []
    depth, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            comments.append((i, j))
            i = j
            continue
        if ch == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
        elif ch in "({":
            depth += 1
            if depth > MAX_NESTING:
                return comments, i
        elif ch in ")}":
            depth = max(0, depth - 1)
        i += 1
    return comments, None


def _syntax_diagnostic(exc: lark.exceptions.UnexpectedInput, src: SourceFile) -> Diagnostic:
    offset = exc.pos_in_stream if exc.pos_in_stream is not None else len(src.text)
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        ch = src.text[offset] if offset < len(src.text) else ""
        hint = ""
        if ch == '"':
            hint = "a string must close with `\"` on the same line; only \\\" and \\\\ escapes exist"
        elif ch == "-":
            hint = "a minus sign must be followed directly by a number"
        shown = repr(ch)[1:-1] if ch.isprintable() else f"\\u{ord(ch):04x}"
        return error("E002", f"unexpected character `{shown}`", src.span(offset, offset + 1),
                     detail=_expected_text(exc.allowed or set()), hint=hint)
    token = getattr(exc, "token", None)
    expected = set(getattr(exc, "expected", None) or getattr(exc, "accepts", None) or ())
    if token is None or token.type == "$END":
        end = len(src.text)
        return error("E003", "unexpected end of file", src.span(end, end),
                     detail=_expected_text(expected),
                     hint="is a closing `}` or `)` missing?")
    start = token.start_pos if token.start_pos is not None else offset
    end = token.end_pos if token.end_pos is not None else start + len(str(token))
    return error("E001", f"unexpected {_token_noun(token)}",
                 src.span(start, end), detail=_expected_text(expected))


def _token_noun(token: Token) -> str:
    kind = {"NAME": "name ", "INT": "integer ", "FLOAT": "number ", "STRING": "string ",
            "SIZE": "size "}.get(token.type, "keyword " if str(token).isalpha() else "")
    return f"{kind}`{token}`"


def _expected_text(expected: set[str]) -> str:
    expected = {e for e in expected if not e.startswith("__")}
    if {"PROFILE", "STUDY", "IMPORT"} <= expected:
        return "expected `profile`, `study` or `import` at the top level of a file"
    if "NAME" in expected and "RBRACE" in expected and not expected & _VALUE_START:
        return (f"expected a clause keyword such as {CLAUSE_KEYWORDS_HINT} "
                "(or `}` to close the block)")
    if expected & _VALUE_START:
        return ("expected a value: a number, a string, a size such as 8x8, true/false, "
                "a name, a call such as fov(samples = 64), or a sweep set {a, b}")
    names = sorted(_TERMINAL_NAMES.get(e, e) for e in expected)
    return "expected " + " or ".join(names) if names else ""


@v_args(meta=True)
class _Builder(Transformer):
    """lark tree -> ast nodes. Literal range and escape errors are collected, not raised."""

    def __init__(self, src: SourceFile):
        super().__init__()
        self.src = src
        self.diagnostics: list[Diagnostic] = []

    def _span(self, meta) -> ast.Span:
        if getattr(meta, "empty", True):
            return self.src.span(0, 0)
        return self.src.span(meta.start_pos, meta.end_pos)

    def _tok_span(self, tok: Token) -> ast.Span:
        return self.src.span(tok.start_pos, tok.end_pos)

    def _ident(self, tok: Token) -> ast.Ident:
        return ast.Ident(str(tok), self._tok_span(tok))

    def start(self, meta, items):
        return ast.Module(self.src.path, tuple(items), ())

    def import_stmt(self, meta, children):
        return ast.Import(self.string_lit(meta, [children[1]]), self._span(meta))

    def profile(self, meta, children):
        name = self._ident(children[1])
        extends = next((c for c in children if isinstance(c, ast.Ident)), None)
        clauses = tuple(c for c in children if isinstance(c, ast.Clause))
        return ast.ProfileDecl(name, extends, clauses, self._span(meta))

    def extends(self, meta, children):
        return self._ident(children[1])

    def study(self, meta, children):
        clauses = tuple(c for c in children if isinstance(c, ast.Clause))
        return ast.StudyDecl(self._ident(children[1]), clauses, self._span(meta))

    def clause(self, meta, children):
        values = tuple(c for c in children[1:] if not isinstance(c, Token))
        return ast.Clause(self._ident(children[0]), values, self._span(meta))

    def call(self, meta, children):
        args = None
        if len(children) > 1:  # parens written: NAME LPAR arglist? RPAR
            args = next((c for c in children if isinstance(c, tuple)), ())
        return ast.Call(self._ident(children[0]), args, self._span(meta))

    def arglist(self, meta, children):
        return tuple(c for c in children if isinstance(c, ast.Arg))

    def arg(self, meta, children):
        return ast.Arg(self._ident(children[0]), children[2], self._span(meta))

    def sweep(self, meta, children):
        members = tuple(c for c in children if not isinstance(c, Token))
        return ast.Sweep(members, self._span(meta))

    def int_lit(self, meta, children):
        tok = children[0]
        # Python refuses int() on > 4300 digits; anything past 19 digits is out of range anyway.
        value = int(str(tok)) if len(str(tok).lstrip("-")) <= 19 else INT_LIMIT + 1
        if abs(value) > INT_LIMIT:
            self.diagnostics.append(error("E007", "integer literal out of range", self._tok_span(tok),
                                          hint=f"integers must lie within ±{INT_LIMIT}"))
        return ast.Literal("int", value, str(tok), self._tok_span(tok))

    def float_lit(self, meta, children):
        tok = children[0]
        value = float(str(tok))
        if value in (float("inf"), float("-inf")):
            self.diagnostics.append(error("E007", "number literal out of range", self._tok_span(tok),
                                          hint="the value overflows a 64-bit float"))
            value = 0.0
        return ast.Literal("float", value, str(tok), self._tok_span(tok))

    def string_lit(self, meta, children):
        tok = children[0]
        raw, out, i = str(tok)[1:-1], [], 0
        while i < len(raw):
            if raw[i] == "\\":
                nxt = raw[i + 1]
                if nxt in '"\\':
                    out.append(nxt)
                else:
                    at = tok.start_pos + 1 + i
                    self.diagnostics.append(error("E008", f"invalid escape `\\{nxt}` in string",
                                                  self.src.span(at, at + 2),
                                                  hint='only \\" and \\\\ are escapes'))
                i += 2
            else:
                out.append(raw[i])
                i += 1
        return ast.Literal("string", "".join(out), str(tok), self._tok_span(tok))

    def size_lit(self, meta, children):
        tok = children[0]
        h, w = (int(p) if len(p) <= 19 else INT_LIMIT + 1 for p in str(tok).split("x"))
        if max(h, w) > INT_LIMIT:
            self.diagnostics.append(error("E007", "size literal out of range", self._tok_span(tok)))
        return ast.Literal("size", (h, w), str(tok), self._tok_span(tok))

    def true_lit(self, meta, children):
        return ast.Literal("bool", True, "true", self._tok_span(children[0]))

    def false_lit(self, meta, children):
        return ast.Literal("bool", False, "false", self._tok_span(children[0]))
