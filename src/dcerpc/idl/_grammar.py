"""The IDL and ACF grammars (lark, LALR(1)).

The grammar follows C706 ch. 4 (IDL) plus the Microsoft extensions of [MS-RPCE] 2.2.4
and MIDL's ACF (C706 ch. 5 for the DCE ACF). Two choices keep it LALR(1):

* type names are identifiers; which identifier is a type is decided by the resolver,
  so ``wchar_t``/``handle_t``/``error_status_t`` are ordinary predeclared names (the
  published ms-dtyp.idl even redeclares ``wchar_t``);
* a declaration (constant, type or operation) is one rule; the resolver tells them
  apart (an initializer makes a constant, a parameter list an operation).
"""

from __future__ import annotations

_COMMON = r"""
// ------------------------------------------------------------------ attributes
attrs: attr_list+
attr_list: "[" [attr ("," attr)* [","]] "]"
attr: attr_name ["(" attr_args ")"]
!attr_name: IDENT | "case" | "default" | "switch" | "const" | "pipe" | "struct" | "union"
attr_args: [attr_arg] ("," [attr_arg])*
?attr_arg: expr
    | UUID -> uuid_arg
    | base_word+ -> type_words_arg
    | "struct" IDENT -> struct_arg
    | "union" IDENT -> union_arg
    | "enum" IDENT -> enum_arg
    | IDENT IDENT -> name_decl_arg

!base_word: "unsigned" | "signed" | "int" | "long" | "short" | "char" | "small" | "hyper"
    | "__int8" | "__int16" | "__int32" | "__int64" | "__int3264" | "byte" | "boolean"
    | "float" | "double" | "void"

// ------------------------------------------------------------------ expressions
?expr: ternary
?ternary: lor | lor "?" expr ":" ternary -> cond
?lor: land | lor "||" land -> lor
?land: bor | land "&&" bor -> land
?bor: bxor | bor "|" bxor -> bor
?bxor: band | bxor "^" band -> bxor
?band: equality | band "&" equality -> band
?equality: relational | equality "==" relational -> eq | equality "!=" relational -> ne
?relational: shift | relational "<" shift -> lt | relational ">" shift -> gt
    | relational "<=" shift -> le | relational ">=" shift -> ge
?shift: additive | shift "<<" additive -> shl | shift ">>" additive -> shr
?additive: mult | additive "+" mult -> add | additive "-" mult -> sub
?mult: unary | mult "*" unary -> mul | mult "/" unary -> div | mult "%" unary -> mod
?unary: postfix | "-" unary -> neg | "+" unary -> pos | "~" unary -> inv | "!" unary -> not_
    | "*" unary -> deref | "&" unary -> addr
    | "(" base_word+ ")" unary -> cast
?postfix: primary | postfix "." IDENT -> field_access | postfix "->" IDENT -> field_access
    | postfix "[" expr "]" -> index
?primary: NUMBER -> number | CHAR -> char | STRING+ -> string | IDENT -> ref
    | "(" expr ")"
    | "sizeof" "(" (base_word+ | IDENT) ")" -> sizeof

// ------------------------------------------------------------------ terminals
IDENT: /[A-Za-z_][A-Za-z0-9_]*/
UUID.3: /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/
NUMBER: /0[xX][0-9a-fA-F]+[uUlL]*|[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?[fF]?|\.[0-9]+|[0-9]+[uUlL]*/
STRING: /L?"(?:\\.|[^"\\\n])*"/
CHAR: /L?'(?:\\.|[^'\\\n])+'/
%ignore /[ \t\f\r\n]+/
%ignore /\/\/[^\n]*/
%ignore /\/\*(.|\n)*?\*\//
"""

IDL_GRAMMAR = r"""
start: item*
?item: import_stmt | cpp_quote | pragma | interface | iface_fwd | typedef | declaration
    | library | coclass | importlib | ";" -> empty

import_stmt: "import" STRING ("," STRING)* ";"
cpp_quote: "cpp_quote" "(" STRING+ ")" ";"?
pragma: "midl_pragma" IDENT "(" pragma_tok* ")" ";"?
pragma_tok: IDENT | NUMBER | STRING | ":" | "," | "-" | "+"
importlib: "importlib" "(" STRING ")" ";"
interface: [attrs] "interface" IDENT [":" IDENT] "{" iface_item* "}" ";"?
iface_fwd: [attrs] "interface" IDENT ";"
?iface_item: import_stmt | cpp_quote | pragma | typedef | declaration | ";" -> empty
library: [attrs] "library" IDENT "{" item* "}" ";"?
coclass: [attrs] "coclass" IDENT "{" coclass_item* "}" ";"?
coclass_item: [attrs] ("interface" | "dispinterface") IDENT ";"

typedef: "typedef" [attrs] decl_specs declarator_list ";"
declaration: [attrs] decl_specs [declarator_list] ";"
declarator_list: init_declarator ("," init_declarator)*
init_declarator: declarator ["=" expr]

decl_specs: [quals] type_spec [quals]
quals: qual+
!qual: "const" | "volatile"
?type_spec: base_word+ -> base_type
    | IDENT -> named_type
    | struct_spec | union_spec | enum_spec
    | "pipe" decl_specs -> pipe_spec

struct_spec: "struct" [IDENT] "{" member* "}" -> struct_def
    | "struct" IDENT -> struct_ref
union_spec: "union" [IDENT] "{" member* "}" -> union_def
    | "union" [IDENT] "switch" "(" decl_specs IDENT ")" [IDENT] "{" member* "}" -> enc_union
    | "union" IDENT -> union_ref
enum_spec: "enum" [IDENT] "{" enumerator ("," enumerator)* [","] "}" -> enum_def
    | "enum" IDENT -> enum_ref
enumerator: IDENT ["=" expr]

member: [attrs] decl_specs [member_declarators] ";" -> member
    | [attrs] ";" -> empty_member
    | case_label+ [attrs] [decl_specs [member_declarators]] ";" -> case_member
member_declarators: member_declarator ("," member_declarator)*
member_declarator: declarator [":" expr]
case_label: "case" expr ":" -> case_label
    | "default" ":" -> default_label

// ------------------------------------------------------------------ declarators
declarator: [pointers] direct_declarator
pointers: pointer+
pointer: "*" [quals]
?direct_declarator: IDENT -> name
    | "(" pointers IDENT ")" "(" [param_list] ")" -> func_ptr
    | direct_declarator "[" [array_bound] "]" -> array
    | direct_declarator "(" [param_list] ")" -> func
array_bound: expr | "*" -> star_bound
param_list: param ("," param)* ["," "..."]
param: [attrs] decl_specs [param_declarator]
?param_declarator: declarator | abstract_declarator
abstract_declarator: pointers abs_array* | abs_array+
abs_array: "[" [array_bound] "]"
""" + _COMMON

ACF_GRAMMAR = r"""
start: acf_item*
?acf_item: acf_interface | acf_include | acf_import | acf_typedef | cpp_quote | ";" -> empty
acf_include: "include" STRING ("," STRING)* ";"
acf_import: "import" STRING ("," STRING)* ";"
cpp_quote: "cpp_quote" "(" STRING+ ")" ";"?
acf_interface: [attrs] "interface" IDENT "{" acf_iface_item* "}" ";"?
?acf_iface_item: acf_typedef | acf_op | acf_include | acf_import | cpp_quote | ";" -> empty
acf_typedef: "typedef" [attrs] IDENT ("," IDENT)* ";"
acf_op: [attrs] IDENT ["(" [acf_param ("," acf_param)*] ")"] ";"
acf_param: [attrs] IDENT
""" + _COMMON

#: Words used in "expected ..." diagnostics for named terminals.
TERMINAL_WORDS = {
    "IDENT": "an identifier",
    "NUMBER": "a number",
    "STRING": "a string",
    "CHAR": "a character constant",
    "UUID": "a UUID",
    "$END": "end of file",
}
