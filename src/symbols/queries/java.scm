; Ours, run before tree-sitter-java's tags.scm (earlier patterns win).

(enum_declaration
  name: (identifier) @name) @definition.enum

(record_declaration
  name: (identifier) @name) @definition.class

(annotation_type_declaration
  name: (identifier) @name) @definition.interface

(constructor_declaration
  name: (identifier) @name) @definition.constructor

(field_declaration
  declarator: (variable_declarator name: (identifier) @name)) @definition.field

(constant_declaration
  declarator: (variable_declarator name: (identifier) @name)) @definition.constant

(superclass
  [(type_identifier) @name (generic_type (type_identifier) @name) (scoped_type_identifier (type_identifier) @name .)]) @reference.inherit

(super_interfaces
  (type_list
    [(type_identifier) @name (generic_type (type_identifier) @name) (scoped_type_identifier (type_identifier) @name .)])) @reference.inherit

(extends_interfaces
  (type_list
    [(type_identifier) @name (generic_type (type_identifier) @name) (scoped_type_identifier (type_identifier) @name .)])) @reference.inherit

(object_creation_expression
  type: [(type_identifier) @name (generic_type (type_identifier) @name)]) @reference.call

(type_identifier) @name @reference.type

(import_declaration
  [(scoped_identifier) (identifier)] @import.module)
