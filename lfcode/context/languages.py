"""Languages lfcode parses: the official tree-sitter grammar wheels and their ``queries/tags.scm``.

Maps an LSP ``languageId`` or a file extension to a :class:`LanguageSpec` holding the tree-sitter
``Language``, a way to get a ``Parser`` and the compiled tags query (aider's repo map uses the same
``tags.scm`` captures: ``@name`` with ``@definition.*`` / ``@reference.*``). TypeScript's query
is the JavaScript one plus TypeScript's own additions, as the grammar repositories intend.
Unknown languages give ``None``; callers fall back to plain-text context.
"""

from __future__ import annotations

import functools
import importlib
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePath

from tree_sitter import Language, Parser, Query

log = logging.getLogger(__name__)

#: name → (module, attribute returning the language pointer, tags.scm modules in order)
_GRAMMARS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "python": ("tree_sitter_python", "language", ("tree_sitter_python",)),
    "javascript": ("tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    "typescript": ("tree_sitter_typescript", "language_typescript", ("tree_sitter_javascript", "tree_sitter_typescript")),
    "tsx": ("tree_sitter_typescript", "language_tsx", ("tree_sitter_javascript", "tree_sitter_typescript")),
    "go": ("tree_sitter_go", "language", ("tree_sitter_go",)),
    "rust": ("tree_sitter_rust", "language", ("tree_sitter_rust",)),
    "java": ("tree_sitter_java", "language", ("tree_sitter_java",)),
    "c": ("tree_sitter_c", "language", ("tree_sitter_c",)),
    "cpp": ("tree_sitter_cpp", "language", ("tree_sitter_c", "tree_sitter_cpp")),
}

#: LSP languageId (LSP 3.17 §TextDocumentItem's table) → grammar name.
LANGUAGE_IDS: dict[str, str] = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
}

EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}


# -- Node-type tables, per grammar (family): where Explain, test generation and review find
# -- definitions and imports. A new grammar adds its rows here.

#: Node types that define a function or method, per grammar.
FUNCTIONS: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition"}),
    "javascript": frozenset({"function_declaration", "generator_function_declaration", "method_definition", "arrow_function", "function_expression"}),
    "go": frozenset({"function_declaration", "method_declaration"}),
    "rust": frozenset({"function_item"}),
    "java": frozenset({"method_declaration", "constructor_declaration"}),
    "c": frozenset({"function_definition"}),
}
#: Node types that define a class (or struct, interface, impl block), per grammar.
CLASSES: dict[str, frozenset[str]] = {
    "python": frozenset({"class_definition"}),
    "javascript": frozenset({"class_declaration", "abstract_class_declaration", "class"}),
    "go": frozenset({"type_spec"}),
    "rust": frozenset({"impl_item", "struct_item", "enum_item", "trait_item"}),
    "java": frozenset({"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}),
    "c": frozenset({"struct_specifier"}),
    "cpp": frozenset({"class_specifier", "struct_specifier"}),
}
#: Grammars that share another grammar's node-type tables (their "family").
_FAMILY = {"typescript": "javascript", "tsx": "javascript", "cpp": "c"}
#: Import-like top-level statements, per grammar family.
IMPORTS: dict[str, frozenset[str]] = {
    "python": frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
    "javascript": frozenset({"import_statement"}),
    "go": frozenset({"import_declaration", "package_clause"}),
    "rust": frozenset({"use_declaration", "extern_crate_declaration"}),
    "java": frozenset({"import_declaration", "package_declaration"}),
    "c": frozenset({"preproc_include", "using_declaration"}),
}

# -- Completion's tables, per grammar family (each name checked against the grammar with
# -- ``Language.id_for_node_kind``): used as one union today (see ``every``).

#: Definitions whose header is worth repeating when the cursor is deep inside them.
SCOPES: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition", "class_definition"}),
    "javascript": frozenset({
        "function_declaration", "generator_function_declaration", "function_expression", "arrow_function",
        "method_definition", "class_declaration", "abstract_class_declaration", "interface_declaration",
        "enum_declaration",
    }),
    "go": frozenset({"function_declaration", "method_declaration", "func_literal", "type_declaration"}),
    "rust": frozenset({"function_item", "impl_item", "trait_item", "mod_item"}),
    "java": frozenset({
        "method_declaration", "constructor_declaration", "class_declaration", "interface_declaration",
        "enum_declaration", "record_declaration",
    }),
    "c": frozenset({"function_definition", "struct_specifier", "class_specifier", "namespace_definition"}),
}
#: Node types whose brackets (or ``{``) make an empty line mid-expression, not a block.
EXPRESSION_CONTAINERS: dict[str, frozenset[str]] = {
    "python": frozenset({
        "argument_list", "parameters", "parenthesized_expression", "list", "tuple", "dictionary", "set",
        "subscript", "list_comprehension", "dictionary_comprehension", "generator_expression", "string",
    }),
    "javascript": frozenset({
        "arguments", "formal_parameters", "parenthesized_expression", "array", "object", "object_pattern",
        "array_pattern", "type_arguments", "type_parameters", "template_string", "string", "jsx_element",
    }),
    "go": frozenset({
        "argument_list", "parameter_list", "parenthesized_expression", "literal_value", "composite_literal",
        "type_arguments",
    }),
    "rust": frozenset({
        "arguments", "parameters", "parenthesized_expression", "tuple_expression", "array_expression",
        "field_initializer_list", "type_arguments", "type_parameters",
    }),
    "java": frozenset({
        "argument_list", "formal_parameters", "parenthesized_expression", "array_initializer",
        "type_arguments", "type_parameters",
    }),
    "c": frozenset({
        "argument_list", "parameter_list", "parenthesized_expression", "initializer_list",
        "field_initializer_list",
    }),
}
#: Node types that hold statements: an empty line in one of them gets a block.
BLOCK_CONTAINERS: dict[str, frozenset[str]] = {
    "python": frozenset({
        "module", "block", "function_definition", "class_definition", "if_statement", "for_statement",
        "while_statement", "with_statement", "try_statement", "else_clause", "elif_clause", "except_clause",
        "finally_clause", "case_clause",
    }),
    "javascript": frozenset({
        "program", "module", "statement_block", "class_body", "interface_body", "enum_body", "switch_body",
        "switch_case", "if_statement", "for_statement", "while_statement", "with_statement", "try_statement",
        "else_clause", "finally_clause",
    }),
    "go": frozenset({"source_file", "block", "field_declaration_list", "expression_case", "if_statement", "for_statement"}),
    "rust": frozenset({"source_file", "block", "declaration_list", "field_declaration_list", "match_block", "else_clause"}),
    "java": frozenset({
        "program", "block", "class_body", "interface_body", "enum_body", "constructor_body", "if_statement",
        "for_statement", "while_statement", "try_statement", "finally_clause",
    }),
    "c": frozenset({
        "translation_unit", "compound_statement", "declaration_list", "field_declaration_list",
        "function_definition", "if_statement", "for_statement", "while_statement", "try_statement",
        "else_clause",
    }),
}


def every(table: dict[str, frozenset[str]]) -> frozenset[str]:
    """The union of a per-grammar node-type ``table`` over all grammars (for callers that do not
    look at the language, e.g. ``syntax.SCOPE_TYPES``)."""
    return frozenset().union(*table.values())


def family(name: str) -> str:
    """The grammar whose node-type tables ``name`` uses (``typescript``/``tsx`` → ``javascript``,
    ``cpp`` → ``c``; any other name is its own family)."""
    return _FAMILY.get(name, name)


def definition_types(name: str) -> frozenset[str]:
    """Node types of grammar ``name`` that define a function, method or class."""
    return FUNCTIONS.get(family(name), frozenset()) | CLASSES.get(name, CLASSES.get(family(name), frozenset()))


@dataclass(frozen=True)
class LanguageSpec:
    """A supported language: ``name`` (grammar name), tree-sitter ``language`` and ``tags`` query
    (``None`` when the grammar ships none or it does not compile)."""

    name: str
    language: Language
    tags: Query | None

    def parser(self) -> Parser:
        """A new parser for this language (parsers are cheap but not thread-safe)."""
        return Parser(self.language)


def _tags_source(module: str) -> str:
    try:
        return resources.files(module).joinpath("queries", "tags.scm").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return ""


def _compile_tags(language: Language, modules: tuple[str, ...]) -> Query | None:
    sources = [s for s in (_tags_source(m) for m in modules) if s]
    if not sources:
        return None
    try:
        return Query(language, "\n".join(sources))
    except Exception:  # noqa: BLE001 - tree-sitter raises QueryError subclasses of varying names
        # An inherited query may name nodes this grammar lacks: keep the grammar's own query.
        try:
            return Query(language, sources[-1])
        except Exception as exc:  # noqa: BLE001
            log.warning("tags query for %s does not compile: %s", modules[-1], exc)
            return None


@functools.lru_cache(maxsize=None)
def get_language(name: str) -> LanguageSpec | None:
    """The :class:`LanguageSpec` for grammar ``name``, or ``None`` when unknown or not installed."""
    entry = _GRAMMARS.get(name)
    if entry is None:
        return None
    module_name, attribute, tag_modules = entry
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        log.warning("grammar %s is not installed; %s files get plain-text context", module_name, name)
        return None
    language = Language(getattr(module, attribute)())
    return LanguageSpec(name=name, language=language, tags=_compile_tags(language, tag_modules))


def language_name(path: str | None = None, language_id: str | None = None) -> str | None:
    """Grammar name from an LSP ``languageId`` (preferred) or the file extension; ``None`` if unknown."""
    if language_id and language_id in LANGUAGE_IDS:
        return LANGUAGE_IDS[language_id]
    if path:
        return EXTENSIONS.get(PurePath(path).suffix.lower())
    return None


def language_id_for(path: str) -> str:
    """The LSP ``languageId`` for ``path`` derived from its extension, as the CLI sends it where an
    editor would send its own: the first :data:`LANGUAGE_IDS` entry naming the grammar of
    :data:`EXTENSIONS` (``".py"`` → ``"python"``, ``".tsx"`` → ``"typescriptreact"``), so that
    :func:`language_name` picks the same grammar either way; ``""`` for an unknown extension."""
    name = EXTENSIONS.get(PurePath(path).suffix.lower())
    return next((lsp_id for lsp_id, grammar in LANGUAGE_IDS.items() if grammar == name), "")


def language_for(path: str | None = None, language_id: str | None = None) -> LanguageSpec | None:
    """The :class:`LanguageSpec` for a document, or ``None`` (plain text)."""
    name = language_name(path, language_id)
    return get_language(name) if name else None


def supported_languages() -> list[str]:
    """Grammar names lfcode knows."""
    return list(_GRAMMARS)
