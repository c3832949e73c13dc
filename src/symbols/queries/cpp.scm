; Ours, run before tree-sitter-cpp's tags.scm (earlier patterns win). The stock query has no references.

(function_definition
  declarator: [
    (function_declarator declarator: (qualified_identifier scope: (_) @container name: [(identifier) (destructor_name) (operator_name)] @name))
    (pointer_declarator declarator: (function_declarator declarator: (qualified_identifier scope: (_) @container name: [(identifier) (destructor_name) (operator_name)] @name)))
    (reference_declarator (function_declarator declarator: (qualified_identifier scope: (_) @container name: [(identifier) (destructor_name) (operator_name)] @name)))
  ]) @definition.method

(field_declaration_list
  [
    (function_definition declarator: [
      (function_declarator declarator: [(field_identifier) (identifier) (destructor_name) (operator_name)] @name)
      (pointer_declarator declarator: (function_declarator declarator: [(field_identifier) (identifier) (operator_name)] @name))
      (reference_declarator (function_declarator declarator: [(field_identifier) (identifier) (operator_name)] @name))
    ]) @definition.method
    (template_declaration (function_definition declarator: (function_declarator declarator: [(field_identifier) (identifier) (destructor_name) (operator_name)] @name)) @definition.method)
  ])

(function_definition
  declarator: [
    (function_declarator declarator: [(identifier) (operator_name)] @name)
    (pointer_declarator declarator: (function_declarator declarator: [(identifier) (operator_name)] @name))
    (reference_declarator (function_declarator declarator: [(identifier) (operator_name)] @name))
  ]) @definition.function

(function_declarator
  declarator: (qualified_identifier
    scope: [(namespace_identifier) (template_type)] @container
    name: [(identifier) (destructor_name) (operator_name)] @name)) @definition.method

(field_declaration_list
  [
    (field_declaration declarator: (function_declarator declarator: [(field_identifier) (destructor_name) (operator_name)] @name) @definition.method)
    (declaration declarator: (function_declarator declarator: [(identifier) (destructor_name) (operator_name)] @name) @definition.method)
  ])

(class_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(struct_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(union_specifier
  name: (type_identifier) @name
  body: (_)) @definition.class

(enum_specifier
  name: (type_identifier) @name
  body: (_)) @definition.enum

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name) @definition.module

(alias_declaration
  name: (type_identifier) @name) @definition.type

(type_definition
  declarator: [
    (type_identifier) @name
    (pointer_declarator declarator: (type_identifier) @name)
    (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))
  ]) @definition.type

(field_declaration
  declarator: [
    (field_identifier) @name
    (pointer_declarator declarator: (field_identifier) @name)
    (reference_declarator (field_identifier) @name)
  ]) @definition.field

(enumerator
  name: (identifier) @name) @definition.constant

(preproc_def
  name: (identifier) @name) @definition.macro

(preproc_function_def
  name: (identifier) @name) @definition.macro

(base_class_clause
  [
    (type_identifier) @name
    (qualified_identifier name: (type_identifier) @name)
    (template_type name: (type_identifier) @name)
  ]) @reference.inherit

(new_expression
  type: [(type_identifier) @name (qualified_identifier name: (type_identifier) @name)]) @reference.call

(call_expression
  function: [
    (identifier) @name
    (field_expression field: (field_identifier) @name)
    (qualified_identifier name: (identifier) @name)
    (template_function name: (identifier) @name)
    (qualified_identifier name: (template_function name: (identifier) @name))
  ]) @reference.call

(type_identifier) @name @reference.type

(preproc_include
  path: [(string_literal) (system_lib_string)] @import.module)
