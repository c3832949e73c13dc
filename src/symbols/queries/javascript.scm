; Ours, run before tree-sitter-javascript's tags.scm (earlier patterns win).

(method_definition
  name: (property_identifier) @name
  (#eq? @name "constructor")) @definition.constructor

(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression)]) @definition.method

(field_definition
  property: [(property_identifier) (private_property_identifier)] @name) @definition.field

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(variable_declarator
  name: (identifier) @name
  value: (class)) @definition.class

(program
  (lexical_declaration
    (variable_declarator name: (identifier) @name) @definition.constant))

(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator name: (identifier) @name) @definition.constant)))

(class_heritage
  [(identifier) @name (member_expression property: (property_identifier) @name)]) @reference.inherit

(new_expression
  constructor: [(identifier) @name (member_expression property: (property_identifier) @name)]) @reference.call

(import_specifier
  name: (identifier) @name) @reference.import

(import_clause
  (identifier) @name) @reference.import

(namespace_import
  (identifier) @name) @reference.import

(import_statement
  source: (string (string_fragment) @import.module))

(export_statement
  source: (string (string_fragment) @import.module))

(call_expression
  function: (identifier) @_require
  arguments: (arguments . (string (string_fragment) @import.module))
  (#eq? @_require "require"))

(call_expression
  function: (import)
  arguments: (arguments . (string (string_fragment) @import.module)))
