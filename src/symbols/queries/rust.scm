; Ours, run before tree-sitter-rust's tags.scm (earlier patterns win).

(impl_item
  type: [
    (type_identifier) @container
    (generic_type type: (type_identifier) @container)
    (scoped_type_identifier name: (type_identifier) @container)
  ]
  body: (declaration_list
    (function_item name: (identifier) @name) @definition.method))

(trait_item
  body: (declaration_list
    [
      (function_item name: (identifier) @name)
      (function_signature_item name: (identifier) @name)
    ] @definition.method))

(enum_item
  name: (type_identifier) @name) @definition.enum

(type_item
  name: (type_identifier) @name) @definition.type

(const_item
  name: (identifier) @name) @definition.constant

(static_item
  name: (identifier) @name) @definition.variable

(field_declaration
  name: (field_identifier) @name) @definition.field

(impl_item
  trait: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (scoped_type_identifier name: (type_identifier) @name)
  ]) @reference.inherit

(impl_item
  type: (type_identifier) @name
  !trait) @reference.type

(call_expression
  function: (scoped_identifier name: (identifier) @name)) @reference.call

(call_expression
  function: (generic_function function: [(identifier) @name (scoped_identifier name: (identifier) @name) (field_expression field: (field_identifier) @name)])) @reference.call

(macro_invocation
  macro: (scoped_identifier name: (identifier) @name)) @reference.call

(type_identifier) @name @reference.type

(use_declaration
  argument: (_) @import.module)

(mod_item
  name: (identifier) @import.module
  !body)

(extern_crate_declaration
  name: (identifier) @import.module)
