"""The matching stage: the query language and every rule in one automaton (pure).

`query` parses text (tokens from `lexer`) to a tree (`tree`), `text` folds
and tokenises, `engine` and `scan` are the Aho-Corasick matcher, `rules`
compiles rules and matches one document with snippets. Imports only
`monitor.errors`.
"""

from monitor.match.rules import Document, Match, Matcher, RuleSpec, compile_rules

__all__ = ["Document", "Match", "Matcher", "RuleSpec", "compile_rules"]
