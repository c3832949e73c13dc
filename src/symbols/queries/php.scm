; Ours, run before tree-sitter-php's tags.scm (earlier patterns win).

(method_declaration
  name: (name) @name) @definition.method

(enum_declaration
  name: (name) @name) @definition.enum

(trait_declaration
  name: (name) @name) @definition.class

(const_declaration
  (const_element (name) @name)) @definition.constant

(base_clause
  [(name) @name (qualified_name (name) @name)]) @reference.inherit

(class_interface_clause
  [(name) @name (qualified_name (name) @name)]) @reference.inherit

(use_declaration
  [(name) @name (qualified_name (name) @name)]) @reference.inherit

(object_creation_expression
  [(name) @name (qualified_name (name) @name)]) @reference.call

(function_call_expression
  function: (name) @name) @reference.call

(named_type
  [(name) @name (qualified_name (name) @name)]) @reference.type

(namespace_use_clause
  [(name) (qualified_name)] @import.module)

(include_expression
  [
    (string (string_content) @import.module)
    (encapsed_string (string_content) @import.module)
    (parenthesized_expression [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)])
  ])

(include_once_expression
  [
    (string (string_content) @import.module)
    (encapsed_string (string_content) @import.module)
    (parenthesized_expression [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)])
  ])

(require_expression
  [
    (string (string_content) @import.module)
    (encapsed_string (string_content) @import.module)
    (parenthesized_expression [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)])
  ])

(require_once_expression
  [
    (string (string_content) @import.module)
    (encapsed_string (string_content) @import.module)
    (parenthesized_expression [(string (string_content) @import.module) (encapsed_string (string_content) @import.module)])
  ])
