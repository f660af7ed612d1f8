"""Languages lfcode parses: one :class:`LanguageProfile` per grammar, from the official wheels.

A profile holds everything lfcode knows about a grammar: the wheel and its ``queries/tags.scm``
modules, the LSP ``languageId`` values and file extensions it serves, its line-comment prefix,
and every node-type table the features use (definitions and imports for symbols, Explain, test
generation and review; scopes and containers for completion). Node type names come from each
grammar's ``src/node-types.json``; a unit test checks every name against the grammar with
``Language.id_for_node_kind``. A new language is one new profile in :data:`PROFILES`.

:func:`get_language` turns a profile into a :class:`LanguageSpec`: the tree-sitter ``Language``,
a way to get a ``Parser`` and the compiled tags query (aider's repo map uses the same ``tags.scm``
captures: ``@name`` with ``@definition.*`` / ``@reference.*``). TypeScript's query is the
JavaScript one plus TypeScript's own additions, as the grammar repositories intend. Unknown
languages give ``None``; callers fall back to plain-text context.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePath

from tree_sitter import Language, Parser, Query

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LanguageProfile:
    """What lfcode knows about one tree-sitter grammar.

    ``module``/``attribute``: the grammar wheel's module and the function returning its language
    pointer; ``tag_modules``: the wheels whose ``queries/tags.scm`` are joined, in order;
    ``language_ids``: LSP ``languageId`` values (LSP 3.17 §TextDocumentItem's table);
    ``extensions``: file suffixes, lower case with the dot; ``comment``: the line-comment prefix.
    Node-type sets: ``functions`` (a function or method), ``classes`` (a class, struct,
    interface or impl block), ``imports`` (top-level statements that bring names in),
    ``scopes`` (definitions whose header completion repeats when the cursor is deep inside),
    ``expression_containers`` (brackets that make an empty line mid-expression) and
    ``block_containers`` (nodes holding statements: an empty line there gets a block).
    """

    name: str
    module: str
    attribute: str
    tag_modules: tuple[str, ...]
    language_ids: tuple[str, ...]
    extensions: tuple[str, ...]
    comment: str
    functions: frozenset[str]
    classes: frozenset[str]
    imports: frozenset[str]
    scopes: frozenset[str]
    expression_containers: frozenset[str]
    block_containers: frozenset[str]
    #: The grammar whose symbols this one shares (JavaScript/TypeScript/TSX, C/C++).
    family: str = ""

    @property
    def definitions(self) -> frozenset[str]:
        """Node types that define a function, method or class."""
        return self.functions | self.classes

    @property
    def symbol_family(self) -> str:
        """:attr:`family`, or the grammar's own name."""
        return self.family or self.name


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_JS_FUNCTIONS = _set("function_declaration generator_function_declaration method_definition arrow_function function_expression")
_JS_SCOPES = _set("function_declaration generator_function_declaration function_expression arrow_function method_definition class_declaration")
_JS_EXPRESSIONS = _set("arguments formal_parameters parenthesized_expression array object object_pattern array_pattern template_string string")
_JS_BLOCKS = _set(
    "program statement_block class_body switch_body switch_case if_statement for_statement while_statement"
    " with_statement try_statement else_clause finally_clause"
)
_TS_SCOPES = _JS_SCOPES | _set("abstract_class_declaration interface_declaration enum_declaration")
_TS_EXPRESSIONS = _JS_EXPRESSIONS | _set("type_arguments type_parameters")
_TS_BLOCKS = _JS_BLOCKS | _set("module interface_body enum_body")
_C_EXPRESSIONS = _set("argument_list parameter_list parenthesized_expression initializer_list")
_C_BLOCKS = _set(
    "translation_unit compound_statement declaration_list field_declaration_list function_definition if_statement"
    " for_statement while_statement else_clause"
)

_TYPESCRIPT = LanguageProfile(
    "typescript", "tree_sitter_typescript", "language_typescript", ("tree_sitter_javascript", "tree_sitter_typescript"),
    ("typescript",), (".ts", ".mts", ".cts"), "//", family="javascript",
    functions=_JS_FUNCTIONS,
    classes=_set("class_declaration abstract_class_declaration class"),
    imports=_set("import_statement"),
    scopes=_TS_SCOPES,
    expression_containers=_TS_EXPRESSIONS,
    block_containers=_TS_BLOCKS,
)

#: Every grammar lfcode parses, by name. JavaScript, TypeScript and TSX share their symbols
#: (``family`` "javascript"), as do C and C++ ("c").
PROFILES: dict[str, LanguageProfile] = {p.name: p for p in (
    LanguageProfile(
        "python", "tree_sitter_python", "language", ("tree_sitter_python",), ("python",), (".py", ".pyi", ".pyw"), "#",
        functions=_set("function_definition"),
        classes=_set("class_definition"),
        imports=_set("import_statement import_from_statement future_import_statement"),
        scopes=_set("function_definition class_definition"),
        expression_containers=_set(
            "argument_list parameters parenthesized_expression list tuple dictionary set subscript list_comprehension"
            " dictionary_comprehension generator_expression string"
        ),
        block_containers=_set(
            "module block function_definition class_definition if_statement for_statement while_statement"
            " with_statement try_statement else_clause elif_clause except_clause finally_clause case_clause"
        ),
    ),
    LanguageProfile(
        "javascript", "tree_sitter_javascript", "language", ("tree_sitter_javascript",), ("javascript", "javascriptreact"),
        (".js", ".mjs", ".cjs", ".jsx"), "//", family="javascript",
        functions=_JS_FUNCTIONS,
        classes=_set("class_declaration class"),
        imports=_set("import_statement"),
        scopes=_JS_SCOPES,
        expression_containers=_JS_EXPRESSIONS | _set("jsx_element"),
        block_containers=_JS_BLOCKS,
    ),
    _TYPESCRIPT,
    # TSX: TypeScript's tables, its own grammar function, plus JSX elements.
    dataclasses.replace(
        _TYPESCRIPT, name="tsx", attribute="language_tsx", language_ids=("typescriptreact",), extensions=(".tsx",),
        expression_containers=_TS_EXPRESSIONS | _set("jsx_element"),
    ),
    LanguageProfile(
        "go", "tree_sitter_go", "language", ("tree_sitter_go",), ("go",), (".go",), "//",
        functions=_set("function_declaration method_declaration"),
        classes=_set("type_spec"),
        imports=_set("import_declaration package_clause"),
        scopes=_set("function_declaration method_declaration func_literal type_declaration"),
        expression_containers=_set(
            "argument_list parameter_list parenthesized_expression literal_value composite_literal type_arguments"
        ),
        block_containers=_set("source_file block field_declaration_list expression_case if_statement for_statement"),
    ),
    LanguageProfile(
        "rust", "tree_sitter_rust", "language", ("tree_sitter_rust",), ("rust",), (".rs",), "//",
        functions=_set("function_item"),
        classes=_set("impl_item struct_item enum_item trait_item"),
        imports=_set("use_declaration extern_crate_declaration"),
        scopes=_set("function_item impl_item trait_item mod_item"),
        expression_containers=_set(
            "arguments parameters parenthesized_expression tuple_expression array_expression field_initializer_list"
            " type_arguments type_parameters"
        ),
        block_containers=_set("source_file block declaration_list field_declaration_list match_block else_clause"),
    ),
    LanguageProfile(
        "java", "tree_sitter_java", "language", ("tree_sitter_java",), ("java",), (".java",), "//",
        functions=_set("method_declaration constructor_declaration"),
        classes=_set("class_declaration interface_declaration enum_declaration record_declaration"),
        imports=_set("import_declaration package_declaration"),
        scopes=_set(
            "method_declaration constructor_declaration class_declaration interface_declaration enum_declaration"
            " record_declaration"
        ),
        expression_containers=_set(
            "argument_list formal_parameters parenthesized_expression array_initializer type_arguments type_parameters"
        ),
        block_containers=_set(
            "program block class_body interface_body enum_body constructor_body if_statement for_statement"
            " while_statement try_statement finally_clause"
        ),
    ),
    LanguageProfile(
        "c", "tree_sitter_c", "language", ("tree_sitter_c",), ("c",), (".c", ".h"), "//", family="c",
        functions=_set("function_definition"),
        classes=_set("struct_specifier"),
        imports=_set("preproc_include"),
        scopes=_set("function_definition struct_specifier"),
        expression_containers=_C_EXPRESSIONS,
        block_containers=_C_BLOCKS,
    ),
    LanguageProfile(
        "cpp", "tree_sitter_cpp", "language", ("tree_sitter_c", "tree_sitter_cpp"), ("cpp",),
        (".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx"), "//", family="c",
        functions=_set("function_definition"),
        classes=_set("class_specifier struct_specifier"),
        imports=_set("preproc_include using_declaration"),
        scopes=_set("function_definition struct_specifier class_specifier namespace_definition"),
        expression_containers=_C_EXPRESSIONS | _set("field_initializer_list"),
        block_containers=_C_BLOCKS | _set("try_statement"),
    ),
)}

#: LSP languageId → grammar name, and file extension → grammar name (from :data:`PROFILES`).
LANGUAGE_IDS: dict[str, str] = {lid: p.name for p in PROFILES.values() for lid in p.language_ids}
EXTENSIONS: dict[str, str] = {ext: p.name for p in PROFILES.values() for ext in p.extensions}


def union(field: str) -> frozenset[str]:
    """The union of one node-type set (a :class:`LanguageProfile` field name, e.g. ``"scopes"``)
    over every grammar, for code that does not look at the language (the names do not clash in
    meaning across grammars)."""
    return frozenset().union(*(getattr(p, field) for p in PROFILES.values()))


@dataclass(frozen=True)
class LanguageSpec:
    """A loaded language: its ``profile``, the tree-sitter ``language`` and the compiled ``tags``
    query (``None`` when the grammar ships none or it does not compile)."""

    profile: LanguageProfile
    language: Language
    tags: Query | None

    @property
    def name(self) -> str:
        """The grammar name (``python``, ``tsx``, ...)."""
        return self.profile.name

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
    profile = PROFILES.get(name)
    if profile is None:
        return None
    try:
        module = importlib.import_module(profile.module)
    except ImportError:
        log.warning("grammar %s is not installed; %s files get plain-text context", profile.module, name)
        return None
    language = Language(getattr(module, profile.attribute)())
    return LanguageSpec(profile=profile, language=language, tags=_compile_tags(language, profile.tag_modules))


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


def comment_prefix(name: str | None) -> str | None:
    """The line-comment prefix of grammar ``name`` (``"#"``, ``"//"``), ``None`` when unknown."""
    profile = PROFILES.get(name or "")
    return profile.comment if profile is not None else None


def supported_languages() -> list[str]:
    """Grammar names lfcode knows."""
    return list(PROFILES)
