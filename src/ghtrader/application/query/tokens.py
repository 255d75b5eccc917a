"""A small SQL tokenizer following PostgreSQL's lexical rules (scan.l), for the query validator.

It only has to agree with the server on one thing: which characters are code and which are
inside a string, a quoted identifier or a comment. Where the two could disagree it refuses
(:class:`SqlSyntaxRefused`) rather than guesses: unterminated literals or comments, and in the
QuestDB dialect every PostgreSQL-only quoting form (dollar quotes, ``E''``, ``U&''``, nested
comments), since QuestDB's parser may read them otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ghtrader.application.errors import InvalidArgument

__all__ = ["SqlSyntaxRefused", "Token", "TokenKind", "tokenize"]

TokenKind = Literal["ident", "quoted_ident", "string", "number", "param", "op", "comment"]

# PostgreSQL's own classes: whitespace is ASCII only (a no-break space is part of an identifier
# there, so it must be here too), and any non-ASCII character may start or continue an identifier.
_SPACE = frozenset(" \t\n\r\f\v")
_DIGITS = frozenset("0123456789")


def _ident_start(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z") or ord(c) >= 0x80


def _ident_cont(c: str) -> bool:
    return _ident_start(c) or c in _DIGITS or c == "$"


class SqlSyntaxRefused(InvalidArgument):
    """The statement cannot be tokenised safely (message says where and why)."""


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the raw source text of the token
    value: str  # identifiers: case-folded name (quoted: as written); strings: the content
    pos: int  # offset of the token's first character in the statement


def _refuse(why: str, pos: int) -> SqlSyntaxRefused:
    return SqlSyntaxRefused(f"{why} (at character {pos + 1})")


class _Scanner:
    def __init__(self, text: str, dialect: str) -> None:
        self.s = text
        self.n = len(text)
        self.questdb = dialect == "questdb"
        self.out: list[Token] = []

    def run(self) -> list[Token]:
        s, i = self.s, 0
        while i < self.n:
            c = s[i]
            if c in _SPACE:
                i += 1
            elif s.startswith("--", i):
                # PostgreSQL ends a line comment at \n OR \r: stopping only at \n would hide
                # "SELECT 1 --\r; DROP ..." inside a comment the server does not see
                end = i + 2
                while end < self.n and s[end] not in "\n\r":
                    end += 1
                self.out.append(Token("comment", s[i:end], s[i + 2 : end], i))
                i = end
            elif s.startswith("/*", i):
                i = self._block_comment(i)
            elif c == "'":
                i = self._quoted(i, i, "string", "'", backslash=False)
                if self.questdb and "\\" in self.out[-1].value:
                    raise _refuse("a backslash inside a string is refused for QuestDB", self.out[-1].pos)
            elif c == '"':
                i = self._quoted(i, i, "quoted_ident", '"', backslash=False)
            elif c == "$":
                i = self._dollar(i)
            elif c in _DIGITS or (c == "." and i + 1 < self.n and s[i + 1] in _DIGITS):
                i = self._number(i)
            elif _ident_start(c):
                i = self._word(i)
            else:
                self.out.append(Token("op", c, c, i))
                i += 1
        return self.out

    def _block_comment(self, start: int) -> int:
        s, depth, i = self.s, 0, start
        while i < self.n:
            if s.startswith("/*", i):
                if depth > 0 and self.questdb:
                    raise _refuse("a comment nested inside a comment is refused for QuestDB", i)
                depth += 1
                i += 2
            elif s.startswith("*/", i):
                depth -= 1
                i += 2
                if depth == 0:
                    self.out.append(Token("comment", s[start:i], s[start + 2 : i - 2], start))
                    return i
            else:
                i += 1
        raise _refuse("unterminated /* comment", start)

    def _quoted(self, start: int, quote_at: int, kind: TokenKind, q: str, *, backslash: bool) -> int:
        """A literal opening at ``quote_at`` (``start`` includes any prefix such as ``E``);
        a doubled quote stands for one; with ``backslash`` a backslash escapes the next char."""
        s, i, parts = self.s, quote_at + 1, []
        while i < self.n:
            c = s[i]
            if backslash and c == "\\":
                if i + 1 >= self.n:
                    break
                parts.append(s[i : i + 2])
                i += 2
            elif c == q:
                if i + 1 < self.n and s[i + 1] == q:
                    parts.append(q)
                    i += 2
                else:
                    value = "".join(parts)
                    self.out.append(Token(kind, s[start : i + 1], value, start))
                    return i + 1
            else:
                parts.append(c)
                i += 1
        what = "string" if kind == "string" else "quoted identifier"
        raise _refuse(f"unterminated {what}", start)

    def _dollar(self, start: int) -> int:
        s, i = self.s, start + 1
        if i < self.n and s[i] in _DIGITS:  # $1: a parameter placeholder
            while i < self.n and s[i] in _DIGITS:
                i += 1
            self.out.append(Token("param", s[start:i], s[start:i], start))
            return i
        if self.questdb:
            raise _refuse("'$' (dollar quoting) is refused for QuestDB", start)
        while i < self.n and _ident_cont(s[i]) and s[i] != "$":
            i += 1
        if i < self.n and s[i] == "$" and (i == start + 1 or _ident_start(s[start + 1])):
            tag = s[start : i + 1]
            end = s.find(tag, i + 1)
            if end < 0:
                raise _refuse(f"unterminated dollar-quoted string {tag}", start)
            self.out.append(Token("string", s[start : end + len(tag)], s[i + 1 : end], start))
            return end + len(tag)
        # a lone '$' is no PostgreSQL token: refuse rather than guess how the server reads it
        raise _refuse("stray '$'", start)

    def _number(self, start: int) -> int:
        s, i = self.s, start
        while i < self.n and (s[i].isascii() and (s[i].isalnum() or s[i] in "._")):
            if s[i] in "eE" and i + 1 < self.n and s[i + 1] in "+-":
                i += 2
                continue
            i += 1
        self.out.append(Token("number", s[start:i], s[start:i], start))
        return i

    def _word(self, start: int) -> int:
        s, i = self.s, start + 1
        while i < self.n and _ident_cont(s[i]):
            i += 1
        word = s[start:i]
        nxt = s[i] if i < self.n else ""
        low = word.lower()
        # literal prefixes: E'..' (backslash escapes), B'..', X'..', N'..', U&'..' and U&".."
        if nxt == "'" and low in ("e", "b", "x", "n"):
            if self.questdb:
                raise _refuse(f"the {word}'...' string form is refused for QuestDB", start)
            return self._quoted(start, i, "string", "'", backslash=low == "e")
        if low == "u" and nxt == "&" and i + 1 < self.n and s[i + 1] in "'\"":
            if self.questdb:
                raise _refuse("U&'...' literals are refused for QuestDB", start)
            q = s[i + 1]
            return self._quoted(start, i + 1, "string" if q == "'" else "quoted_ident", q, backslash=False)
        self.out.append(Token("ident", word, low, start))
        return i


def tokenize(text: str, dialect: str = "postgres") -> list[Token]:
    """Tokens of ``text`` (comments included, whitespace dropped); raises :class:`SqlSyntaxRefused`."""
    if "\x00" in text:
        raise SqlSyntaxRefused("the statement contains a NUL character")
    return _Scanner(text, dialect).run()
