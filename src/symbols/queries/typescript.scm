; Ours, run before tree-sitter-typescript's and tree-sitter-javascript's tags.scm (earlier patterns win).

(method_definition
  name: (property_identifier) @name
  (#eq? @name "constructor")) @definition.constructor

(type_alias_declaration
  name: (type_identifier) @name) @definition.type

(enum_declaration
  name: (identifier) @name) @definition.enum

(internal_module
  name: [(identifier) (nested_identifier)] @name) @definition.module

(module
  name: (string (string_fragment) @name)) @definition.module

(class_declaration
  name: (type_identifier) @name) @definition.class

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression)]) @definition.method

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.field

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(program
  (lexical_declaration
    (variable_declarator name: (identifier) @name) @definition.constant))

(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator name: (identifier) @name) @definition.constant)))

(ambient_declaration
  (variable_declaration
    (variable_declarator name: (identifier) @name) @definition.variable))

(ambient_declaration
  (lexical_declaration
    (variable_declarator name: (identifier) @name) @definition.constant))

(property_signature
  name: (property_identifier) @name) @definition.field

(class_heritage
  (extends_clause value: [(identifier) @name (member_expression property: (property_identifier) @name)]) @reference.inherit)

(class_heritage
  (extends_clause value: (call_expression function: [(identifier) @name (member_expression property: (property_identifier) @name)])) @reference.inherit)

(implements_clause
  [(type_identifier) @name (generic_type name: (type_identifier) @name) (nested_type_identifier name: (type_identifier) @name)]) @reference.inherit

(extends_type_clause
  type: [(type_identifier) @name (generic_type name: (type_identifier) @name) (nested_type_identifier name: (type_identifier) @name)]) @reference.inherit

(new_expression
  constructor: [(identifier) @name (member_expression property: (property_identifier) @name)]) @reference.call

(type_identifier) @name @reference.type

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

(import_require_clause
  source: (string (string_fragment) @import.module))

(call_expression
  function: (identifier) @_require
  arguments: (arguments . (string (string_fragment) @import.module))
  (#eq? @_require "require"))

(call_expression
  function: (import)
  arguments: (arguments . (string (string_fragment) @import.module)))
